/*
 * resolve.c - the resolver functions and the byte-order and address
 * helpers.
 *
 * Only thread-safe calls: the getaddrinfo family and the _r variants, no
 * static result buffers.  Failures of getaddrinfo/getnameinfo die with
 * BSDSocket::Error::GAI, of the gethostbyname family with
 * BSDSocket::Error::Host (see error.c).  Addresses go in and come out
 * through the one converter (addr.c).
 */
#define PERL_NO_GET_CONTEXT
#include "EXTERN.h"
#include "perl.h"
#include "XSUB.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <string.h>
#include <unistd.h>
#ifdef USE_ITHREADS
#  include <pthread.h>
#endif

#include "bsdsocket.h"

#ifndef NETDB_INTERNAL
#  define NETDB_INTERNAL (-1)    /* (glibc's; musl's gethostbyname_r never says it) */
#endif
#ifndef HOST_NAME_MAX
#  define HOST_NAME_MAX 255      /* (POSIX's least; FreeBSD names it MAXHOSTNAMELEN) */
#endif

/* ------------------------------------------------------------ arguments */

static const char *
S_name_arg(pTHX_ SV *sv, const char *what, const char *op)
{
    SvGETMAGIC(sv);
    return bsd_cstring_nomg(aTHX_ sv, what, op, NULL);
}

/* An optional name: NULL for undef (or for no argument at all). */
static const char *
S_maybe_name(pTHX_ SV *sv, const char *what, const char *op)
{
    if (!sv)
        return NULL;
    SvGETMAGIC(sv);
    if (!SvOK(sv) && !SvROK(sv))
        return NULL;
    return bsd_cstring_nomg(aTHX_ sv, what, op, NULL);
}

/* A port for getaddrinfo and create_connection: undef (none), an integer
 * in 0..65535, or a service name; returned as the string getaddrinfo
 * wants. */
const char *
bsd_service_arg(pTHX_ SV *sv, const char *op)
{
    IV port = 0;
    int status;
    if (!sv)
        return NULL;
    SvGETMAGIC(sv);
    if (!SvOK(sv) && !SvROK(sv))
        return NULL;
    status = bsd_parse_iv(aTHX_ sv, 0, 65535, &port);
    if (status == BSD_INT_OK)
        return SvPVX(sv_2mortal(newSVpvf("%" IVdf, port)));
    if (status == BSD_INT_RANGE)
        bsd_die_arg(aTHX_ op, "port must be an integer in 0..65535 or a service name, got %" SVf,
                    SVfARG(bsd_describe(aTHX_ sv)));
    return bsd_cstring_nomg(aTHX_ sv, "service", op, NULL);
}

/* ------------------------------------------------------- getaddrinfo */

/* getaddrinfo: a list (a mortal array) of [family, type, proto,
 * canonname, address], the address in the form bind and connect take. */
AV *
bsd_getaddrinfo(pTHX_ SV *host_sv, SV *port_sv, int family, int type,
                int proto, int flags, double timeout)
{
    const char *const host = S_maybe_name(aTHX_ host_sv, "host", "getaddrinfo");
    const char *const service = bsd_service_arg(aTHX_ port_sv, "getaddrinfo");
    struct addrinfo hints, *res = NULL, *ai;
    AV *const results = (AV *)sv_2mortal(MUTABLE_SV(newAV()));
    int rc;

    Zero(&hints, 1, struct addrinfo);
    hints.ai_family = family;
    hints.ai_socktype = type;
    hints.ai_protocol = proto;
    hints.ai_flags = flags;
    rc = bsd_getaddrinfo_timed(aTHX_ host, service, &hints, &res, timeout, "getaddrinfo");
    if (rc != 0) {
        const int err = errno;
        bsd_die_gai(aTHX_ "getaddrinfo", rc, err, NULL, NULL);
    }
    for (ai = res; ai; ai = ai->ai_next) {
        bsd_addr addr;
        AV *const entry = newAV();
        av_push(results, newRV_noinc(MUTABLE_SV(entry)));
        bsd_addr_from_ai(ai, &addr);
        av_extend(entry, 4);
        av_push(entry, newSViv(ai->ai_family));
        av_push(entry, newSViv(ai->ai_socktype));
        av_push(entry, newSViv(ai->ai_protocol));
        av_push(entry, bsd_tainted(newSVpv(ai->ai_canonname ? ai->ai_canonname : "", 0)));
        av_push(entry, bsd_sockaddr_to_sv(aTHX_ &addr, ai->ai_family));
    }
    freeaddrinfo(res);
    return results;
}

/* getnameinfo($address, $flags): ($host, $service).  The address must be
 * numeric, as in CPython: a reverse lookup starts from an address. */
void
bsd_getnameinfo(pTHX_ SV *address, int flags, SV **host_out, SV **service_out)
{
    bsd_addr addr;
    char host[NI_MAXHOST], service[NI_MAXSERV];
    int rc;

    SvGETMAGIC(address);
    if (!SvROK(address) || SvTYPE(SvRV(address)) != SVt_PVAV)
        bsd_die_arg(aTHX_ "getnameinfo",
                    "getnameinfo takes an AF_INET or AF_INET6 address [host, port, ...], got %" SVf,
                    SVfARG(bsd_describe(aTHX_ address)));
    /* numeric only, as in CPython: a reverse lookup starts from an address,
     * never from a name the resolver would be asked about first */
    bsd_sockaddr_from_sv_nomg(aTHX_ NULL, AF_UNSPEC, address, &addr, BSD_ADDR_NUMERIC);
    rc = getnameinfo(&addr.u.sa, addr.len, host, sizeof host, service, sizeof service, flags);
    if (rc != 0) {
        const int err = errno;
        bsd_die_gai(aTHX_ "getnameinfo", rc, err, address, NULL);
    }
    *host_out = bsd_tainted(sv_2mortal(newSVpv(host, 0)));
    *service_out = bsd_tainted(sv_2mortal(newSVpv(service, 0)));
}

/* ---------------------------------------------- the gethostbyname family */

/* A hostent as the list ($name, \@aliases, \@addresses), in out[0..2]. */
static void
S_hostent_to_svs(pTHX_ const struct hostent *h, SV **out)
{
    AV *const aliases = newAV();
    AV *const addresses = newAV();
    char **p;
    for (p = h->h_aliases; p && *p; p++)
        av_push(aliases, bsd_tainted(newSVpv(*p, 0)));
    for (p = h->h_addr_list; p && *p; p++) {
        char text[INET6_ADDRSTRLEN];
        if (inet_ntop(h->h_addrtype, *p, text, sizeof text))
            av_push(addresses, bsd_tainted(newSVpv(text, 0)));
    }
    out[0] = bsd_tainted(sv_2mortal(newSVpv(h->h_name ? h->h_name : "", 0)));
    out[1] = sv_2mortal(newRV_noinc(MUTABLE_SV(aliases)));
    out[2] = sv_2mortal(newRV_noinc(MUTABLE_SV(addresses)));
}

/* The _r calls want a buffer and say ERANGE when it is too small: one
 * lookup with room enough.  lookup() makes the call into buf and returns
 * its error (0: found, or not found with *found NULL).  A real error
 * (ERANGE past the limit, EMFILE when the files cannot be opened) dies. */
#if defined(BSD_HAVE_GETHOSTBYNAME_R) || defined(BSD_HAVE_GETSERVBYNAME_R) \
    || defined(BSD_HAVE_GETPROTOBYNAME_R)
#define BSD_DB_ROOM_MAX (1024 * 1024)
typedef int (*bsd_db_lookup)(void *ctx, char *buf, size_t room, void **found);

static void *
S_db_lookup(pTHX_ bsd_db_lookup lookup, void *ctx, const char *op)
{
    SV *const scratch = sv_newmortal();
    size_t room = 1024;
    void *found = NULL;
    int rc;
    for (;;) {
        rc = lookup(ctx, bsd_grow_or_die(aTHX_ scratch, room, op), room, &found);
        if (rc != ERANGE || room >= BSD_DB_ROOM_MAX)
            break;
        room *= 2;
    }
    if (rc != 0 && !found)
        bsd_die_errno(aTHX_ op, rc, NULL);
    return found;
}
#endif

#ifdef BSD_HAVE_GETHOSTBYNAME_R

typedef struct {
    const char *name;                   /* or the address: */
    const void *addr;
    socklen_t   addr_len;
    int         family;
    struct hostent entry;
    int         h_err;
} bsd_host_query;

static int
S_host_r(void *ctx, char *buf, size_t room, void **found)
{
    bsd_host_query *const q = (bsd_host_query *)ctx;
    struct hostent *h = NULL;
    const int rc = q->addr
        ? gethostbyaddr_r(q->addr, q->addr_len, q->family, &q->entry, buf, room, &h, &q->h_err)
        : gethostbyname_r(q->name, &q->entry, buf, room, &h, &q->h_err);
    *found = h;
    /* (h_errno NETDB_INTERNAL is a system error, in rc or errno) */
    return h || q->h_err != NETDB_INTERNAL ? (rc == ERANGE ? ERANGE : 0)
                                          : (rc ? rc : errno);
}

static const struct hostent *
S_host_lookup(pTHX_ const char *op, const char *what, const void *addr,
              socklen_t addr_len, int family, bsd_host_query *q)
{
    const struct hostent *found;
    q->name = what;
    q->addr = addr;
    q->addr_len = addr_len;
    q->family = family;
    q->h_err = 0;
    found = (const struct hostent *)S_db_lookup(aTHX_ S_host_r, q, op);
    if (!found)
        bsd_die_host(aTHX_ op, q->h_err, what);
    return found;
}

#else   /* no glibc-style gethostbyname_r: getaddrinfo and getnameinfo */

/* The answer, laid out as a hostent so that both ways end the same. */
#define BSD_HOST_ADDRS_MAX 64
typedef struct {
    struct hostent entry;
    char          *no_aliases[1];
    char          *addr_list[BSD_HOST_ADDRS_MAX + 1];
    union { struct in_addr a4; struct in6_addr a6; } addrs[BSD_HOST_ADDRS_MAX];
    char           name[NI_MAXHOST];
} bsd_host_query;

/* getaddrinfo's and getnameinfo's failures as the h_errno of the
 * gethostbyname family (a system error stays one). */
static void S_die_gai_as_host(pTHX_ const char *op, int rc, int err, const char *what)
    __attribute__noreturn__;
static void
S_die_gai_as_host(pTHX_ const char *op, int rc, int err, const char *what)
{
    switch (rc) {
    case EAI_SYSTEM:
        bsd_die_errno(aTHX_ op, err, NULL);
    case EAI_MEMORY:
        bsd_die_errno(aTHX_ op, ENOMEM, NULL);
    case EAI_AGAIN:
        bsd_die_host(aTHX_ op, TRY_AGAIN, what);
    case EAI_NONAME:
        bsd_die_host(aTHX_ op, HOST_NOT_FOUND, what);
#if defined(EAI_NODATA) && EAI_NODATA != EAI_NONAME
    case EAI_NODATA:                /* (the name is there, with no address) */
        bsd_die_host(aTHX_ op, NO_DATA, what);
#endif
#if defined(EAI_ADDRFAMILY) && EAI_ADDRFAMILY != EAI_NONAME \
    && (!defined(EAI_NODATA) || EAI_ADDRFAMILY != EAI_NODATA)
    case EAI_ADDRFAMILY:            /* (the name is there, with no IPv4 address) */
        bsd_die_host(aTHX_ op, NO_DATA, what);
#endif
    default:
        bsd_die_host(aTHX_ op, NO_RECOVERY, what);
    }
}

static const struct hostent *
S_host_lookup(pTHX_ const char *op, const char *what, const void *addr,
              socklen_t addr_len, int family, bsd_host_query *q)
{
    struct hostent *const h = &q->entry;
    int rc;
    Zero(q, 1, bsd_host_query);
    h->h_name = q->name;
    h->h_aliases = q->no_aliases;       /* (getaddrinfo knows of none) */
    h->h_addr_list = q->addr_list;
    if (addr) {                         /* a reverse lookup */
        bsd_addr sa;
        Zero(&sa, 1, bsd_addr);
        sa.u.sa.sa_family = (sa_family_t)family;
        if (family == AF_INET) {
            Copy(addr, &sa.u.in4.sin_addr, 1, struct in_addr);
            sa.len = sizeof sa.u.in4;
        }
        else {
            Copy(addr, &sa.u.in6.sin6_addr, 1, struct in6_addr);
            sa.len = sizeof sa.u.in6;
        }
        bsd_addr_set_sa_len(&sa);
        rc = getnameinfo(&sa.u.sa, sa.len, q->name, sizeof q->name, NULL, 0, NI_NAMEREQD);
        if (rc != 0)
            S_die_gai_as_host(aTHX_ op, rc, errno, what);
        h->h_addrtype = family;
        h->h_length = (int)addr_len;
        Copy(addr, &q->addrs[0], addr_len, char);
        q->addr_list[0] = (char *)&q->addrs[0];
    }
    else {                              /* IPv4, as gethostbyname has it */
        struct addrinfo hints, *res = NULL, *ai;
        int n = 0;
        Zero(&hints, 1, struct addrinfo);
        hints.ai_family = AF_INET;
        hints.ai_socktype = SOCK_STREAM;
        hints.ai_flags = AI_CANONNAME;
        rc = getaddrinfo(what, NULL, &hints, &res);
        if (rc != 0)
            S_die_gai_as_host(aTHX_ op, rc, errno, what);
        my_strlcpy(q->name, res->ai_canonname ? res->ai_canonname : what, sizeof q->name);
        for (ai = res; ai && n < BSD_HOST_ADDRS_MAX; ai = ai->ai_next) {
            const struct in_addr a4 = ((const struct sockaddr_in *)ai->ai_addr)->sin_addr;
            int k;
            if (ai->ai_family != AF_INET)
                continue;
            for (k = 0; k < n && q->addrs[k].a4.s_addr != a4.s_addr; k++)
                ;
            if (k == n) {                 /* (one entry per address) */
                q->addrs[n].a4 = a4;
                q->addr_list[n] = (char *)&q->addrs[n];
                n++;
            }
        }
        freeaddrinfo(res);
        h->h_addrtype = AF_INET;
        h->h_length = sizeof(struct in_addr);
    }
    return h;
}
#endif

/* gethostbyname: the first IPv4 address of a name, as a dotted quad.  An
 * IPv4 literal comes back as given; '' and '<broadcast>' mean what they
 * mean in an address. */
SV *
bsd_gethostbyname(pTHX_ SV *name_sv)
{
    const char *const name = S_name_arg(aTHX_ name_sv, "host name", "gethostbyname");
    struct in_addr in4;
    char text[INET_ADDRSTRLEN];

    if (bsd_parse_in4(name, strlen(name), &in4))
        return sv_2mortal(newSVpv(name, 0));
    if (!*name || strEQ(name, "<broadcast>"))
        in4.s_addr = htonl(*name ? INADDR_BROADCAST : INADDR_ANY);
    else {
        bsd_host_query q;
        const struct hostent *const h =
            S_host_lookup(aTHX_ "gethostbyname", name, NULL, 0, 0, &q);
        if (h->h_addrtype != AF_INET || !h->h_addr_list[0])
            bsd_die_host(aTHX_ "gethostbyname", NO_DATA, name);
        Copy(h->h_addr_list[0], &in4, 1, struct in_addr);
    }
    return bsd_tainted(sv_2mortal(newSVpvn(text, bsd_format_in4(&in4, text))));
}

/* gethostbyname_ex: (name, [aliases], [IPv4 addresses]).  An IPv4 literal
 * is its own answer, (literal, [], [literal]), with no resolver call (it
 * would read the resolver's files just to say so). */
void
bsd_gethostbyname_ex(pTHX_ SV *name_sv, SV **out)
{
    const char *const name = S_name_arg(aTHX_ name_sv, "host name", "gethostbyname_ex");
    bsd_host_query q;
    struct in_addr in4;
    if (bsd_parse_in4(name, strlen(name), &in4)) {
        AV *const addresses = newAV();
        av_push(addresses, newSVpv(name, 0));
        out[0] = sv_2mortal(newSVpv(name, 0));
        out[1] = sv_2mortal(newRV_noinc(MUTABLE_SV(newAV())));
        out[2] = sv_2mortal(newRV_noinc(MUTABLE_SV(addresses)));
        return;
    }
    S_hostent_to_svs(aTHX_ S_host_lookup(aTHX_ "gethostbyname_ex", name, NULL, 0, 0, &q),
                     out);
}

/* gethostbyaddr: an IPv4 or IPv6 literal (a name would mean a forward
 * lookup first: use gethostbyname_ex for that). */
void
bsd_gethostbyaddr(pTHX_ SV *ip_sv, SV **out)
{
    const char *const ip = S_name_arg(aTHX_ ip_sv, "IP address", "gethostbyaddr");
    union { struct in_addr a4; struct in6_addr a6; } addr;
    bsd_host_query q;
    int family;
    socklen_t len;
    if (inet_pton(AF_INET, ip, &addr.a4) == 1) {
        family = AF_INET;
        len = sizeof addr.a4;
    }
    else if (inet_pton(AF_INET6, ip, &addr.a6) == 1) {
        family = AF_INET6;
        len = sizeof addr.a6;
    }
    else
        bsd_die_arg(aTHX_ "gethostbyaddr", "not an IPv4 or IPv6 address: '%s'", ip);
    S_hostent_to_svs(aTHX_ S_host_lookup(aTHX_ "gethostbyaddr", ip, &addr, len, family, &q),
                     out);
}

SV *
bsd_gethostname(pTHX)
{
    char name[HOST_NAME_MAX + 2];
    if (gethostname(name, sizeof name - 1) < 0)
        bsd_die_errno(aTHX_ "gethostname", errno, NULL);
    name[sizeof name - 1] = '\0';
    return bsd_tainted(sv_2mortal(newSVpv(name, 0)));
}

/* ------------------------------------------------- services, protocols */

static void S_die_not_found(pTHX_ const char *op, SV *message) __attribute__noreturn__;
static void
S_die_not_found(pTHX_ const char *op, SV *message)
{
    bsd_error e = BSD_ERROR(op, 0);
    e.has_errno = FALSE;
    e.message = message;
    bsd_throw(aTHX_ &e);
}

typedef struct {
    const char *name;       /* service or protocol name, or NULL for: */
    int         port;       /* a port, in network order */
    const char *proto;
    struct servent serv;
    struct protoent protocol;
} bsd_db_query;

#if !defined(BSD_HAVE_GETSERVBYNAME_R) || !defined(BSD_HAVE_GETPROTOBYNAME_R)
/* "Not found" from the stand-ins may be a services or protocols file
 * that could not be opened: say that instead. */
static void
S_die_if_system_error(pTHX_ int err, const char *op)
{
    if (err == EMFILE || err == ENFILE || err == ENOMEM || err == EACCES)
        bsd_die_errno(aTHX_ op, err, NULL);
}
#endif

#ifdef BSD_HAVE_GETSERVBYNAME_R
static int
S_serv_r(void *ctx, char *buf, size_t room, void **found)
{
    bsd_db_query *const q = (bsd_db_query *)ctx;
    struct servent *f = NULL;
    const int rc = q->name
        ? getservbyname_r(q->name, q->proto, &q->serv, buf, room, &f)
        : getservbyport_r(q->port, q->proto, &q->serv, buf, room, &f);
    *found = f;
    return rc;
}

/* The port of a service name, or -1; the name of the service on a port
 * (into name), or FALSE. */
static int
S_service_port(pTHX_ bsd_db_query *q, const char *op)
{
    const struct servent *const found =
        (const struct servent *)S_db_lookup(aTHX_ S_serv_r, q, op);
    return found ? ntohs((in_port_t)found->s_port) : -1;
}

static bool
S_service_name(pTHX_ bsd_db_query *q, char *name, size_t room, const char *op)
{
    const struct servent *const found =
        (const struct servent *)S_db_lookup(aTHX_ S_serv_r, q, op);
    if (!found)
        return FALSE;
    my_strlcpy(name, found->s_name, room);
    return TRUE;
}

#else   /* no glibc-style getservbyname_r: getaddrinfo and getnameinfo */

/* A service name getaddrinfo would take as a number: no service. */
static bool
S_is_number(const char *name)
{
    return *name && strspn(name, "0123456789") == strlen(name);
}


/* The protocols getaddrinfo tells apart, by socket type: tcp and udp
 * (any other has no service here: -1). */
static int
S_socktype_of(const char *proto)
{
    if (!proto)
        return 0;
    if (strEQ(proto, "tcp"))
        return SOCK_STREAM;
    if (strEQ(proto, "udp"))
        return SOCK_DGRAM;
    return -1;
}

static int
S_service_port(pTHX_ bsd_db_query *q, const char *op)
{
    struct addrinfo hints, *res = NULL;
    int rc, port;
    if (S_is_number(q->name) || S_socktype_of(q->proto) < 0)
        return -1;
    Zero(&hints, 1, struct addrinfo);
    hints.ai_family = AF_INET;
    hints.ai_socktype = S_socktype_of(q->proto);
    hints.ai_flags = AI_PASSIVE;
    errno = 0;
    rc = getaddrinfo(NULL, q->name, &hints, &res);
    if (rc != 0) {
        const int err = errno;
        if (rc != EAI_SERVICE && rc != EAI_NONAME)
            bsd_die_gai(aTHX_ op, rc, err, NULL, NULL);
        S_die_if_system_error(aTHX_ err, op);
        return -1;
    }
    port = ntohs(((const struct sockaddr_in *)res->ai_addr)->sin_port);
    freeaddrinfo(res);
    return port;
}

/* The name getnameinfo gives a port (TRUE), or only its number (FALSE):
 * for tcp, or for udp (NI_DGRAM). */
static bool
S_service_name_for(pTHX_ int port, bool udp, char *name, size_t room, const char *op)
{
    bsd_addr sin;
    int rc;
    Zero(&sin, 1, bsd_addr);
    sin.u.in4.sin_family = AF_INET;
    sin.u.in4.sin_port = (in_port_t)port;
    sin.len = sizeof sin.u.in4;
    bsd_addr_set_sa_len(&sin);
    errno = 0;
    rc = getnameinfo(&sin.u.sa, sin.len, NULL, 0, name, (socklen_t)room, udp ? NI_DGRAM : 0);
    if (rc != 0) {
        const int err = errno;
        bsd_die_gai(aTHX_ op, rc, err, NULL, NULL);
    }
    if (!S_is_number(name))
        return TRUE;
    S_die_if_system_error(aTHX_ errno, op);
    return FALSE;                   /* (a number: no service there) */
}

/* With no protocol: tcp's name, else udp's, as getservbyport(3) finds
 * the first entry for the port whatever its protocol. */
static bool
S_service_name(pTHX_ bsd_db_query *q, char *name, size_t room, const char *op)
{
    const int socktype = S_socktype_of(q->proto);
    if (socktype < 0)
        return FALSE;
    if (socktype != SOCK_DGRAM && S_service_name_for(aTHX_ q->port, FALSE, name, room, op))
        return TRUE;
    return socktype != SOCK_STREAM && S_service_name_for(aTHX_ q->port, TRUE, name, room, op);
}
#endif

#ifdef BSD_HAVE_GETPROTOBYNAME_R
static int
S_proto_r(void *ctx, char *buf, size_t room, void **found)
{
    bsd_db_query *const q = (bsd_db_query *)ctx;
    struct protoent *f = NULL;
    const int rc = getprotobyname_r(q->name, &q->protocol, buf, room, &f);
    *found = f;
    return rc;
}

static int
S_protocol_number(pTHX_ bsd_db_query *q)
{
    const struct protoent *const found =
        (const struct protoent *)S_db_lookup(aTHX_ S_proto_r, q, "getprotobyname");
    return found ? found->p_proto : -1;
}
#else
/* getprotobyname(3) itself, whose answer lives in a static buffer: one
 * thread at a time here (perl's own getprotobyname does not take this
 * lock, nor does other C code). */
#  ifdef USE_ITHREADS
static pthread_mutex_t bsd_proto_lock = PTHREAD_MUTEX_INITIALIZER;
#  endif
static int
S_protocol_number(pTHX_ bsd_db_query *q)
{
    const struct protoent *found;
    int number, err;
#  ifdef USE_ITHREADS
    pthread_mutex_lock(&bsd_proto_lock);
#  endif
    errno = 0;
    found = getprotobyname(q->name);
    number = found ? found->p_proto : -1;
    err = errno;
#  ifdef USE_ITHREADS
    pthread_mutex_unlock(&bsd_proto_lock);
#  endif
    if (number < 0 && err != ENOENT)
        S_die_if_system_error(aTHX_ err, "getprotobyname");
    return number;
}
#endif

/* getservbyname: the port of a service; proto NULL or undef means any. */
int
bsd_getservbyname(pTHX_ SV *service_sv, SV *proto_sv)
{
    bsd_db_query q;
    int port;
    q.name = S_name_arg(aTHX_ service_sv, "service", "getservbyname");
    q.proto = S_maybe_name(aTHX_ proto_sv, "protocol", "getservbyname");
    port = S_service_port(aTHX_ &q, "getservbyname");
    if (port < 0)
        S_die_not_found(aTHX_ "getservbyname",
                        newSVpvf("service '%s' not found%s%s", q.name,
                                 q.proto ? " for protocol " : "", q.proto ? q.proto : ""));
    return port;
}

/* getservbyport: the name of the service on a port. */
SV *
bsd_getservbyport(pTHX_ SV *port_sv, SV *proto_sv)
{
    const int port = (int)bsd_sv_to_iv(aTHX_ port_sv, 0, 65535, "port", "getservbyport");
    bsd_db_query q;
    char name[NI_MAXSERV];
    q.name = NULL;
    q.port = htons((in_port_t)port);
    q.proto = S_maybe_name(aTHX_ proto_sv, "protocol", "getservbyport");
    if (!S_service_name(aTHX_ &q, name, sizeof name, "getservbyport"))
        S_die_not_found(aTHX_ "getservbyport",
                        newSVpvf("no service on port %d%s%s", port,
                                 q.proto ? " for protocol " : "", q.proto ? q.proto : ""));
    return sv_2mortal(newSVpv(name, 0));
}

int
bsd_getprotobyname(pTHX_ SV *name_sv)
{
    bsd_db_query q;
    int number;
    q.name = S_name_arg(aTHX_ name_sv, "protocol name", "getprotobyname");
    q.proto = NULL;
    number = S_protocol_number(aTHX_ &q);
    if (number < 0)
        S_die_not_found(aTHX_ "getprotobyname", newSVpvf("protocol '%s' not found", q.name));
    return number;
}

/* ---------------------------------------------------------- helpers */

/* A packed address argument: bytes of exactly the length the family has. */
static const char *
S_packed_arg(pTHX_ SV *sv, STRLEN want, const char *op)
{
    STRLEN len;
    const char *const pv = bsd_sv_to_bytes(aTHX_ sv, &len, "packed address", op);
    if (len != want)
        bsd_die_arg(aTHX_ op, "packed address must be %" UVuf " bytes, got %" UVuf,
                    (UV)want, (UV)len);
    return pv;
}

/* inet_aton: the dotted forms inet_aton(3) knows ("127.1" too), packed
 * into 4 bytes.  No resolver: a name is an error. */
SV *
bsd_inet_aton(pTHX_ SV *text_sv)
{
    const char *const text = S_name_arg(aTHX_ text_sv, "IPv4 address", "inet_aton");
    struct in_addr in4;
    /* (inet_aton(3) stops at whitespace and ignores the rest: a string
     * with any is refused, not cut short) */
    if (!*text || strpbrk(text, " \t\n\r\f\v") || inet_aton(text, &in4) == 0)
        bsd_die_arg(aTHX_ "inet_aton", "not an IPv4 address: '%s'", text);
    return sv_2mortal(newSVpvn((const char *)&in4, sizeof in4));
}

SV *
bsd_inet_ntoa(pTHX_ SV *packed_sv)
{
    char text[INET_ADDRSTRLEN];
    struct in_addr in4;
    Copy(S_packed_arg(aTHX_ packed_sv, sizeof in4, "inet_ntoa"), &in4, 1, struct in_addr);
    return sv_2mortal(newSVpvn(text, bsd_format_in4(&in4, text)));
}

static STRLEN
S_family_length(pTHX_ int family, const char *op)
{
    if (family == AF_INET)
        return sizeof(struct in_addr);
    if (family == AF_INET6)
        return sizeof(struct in6_addr);
    {
        bsd_error e = BSD_ERROR(op, EAFNOSUPPORT);
        e.message = newSVpvf("family must be AF_INET or AF_INET6, got %d", family);
        bsd_throw(aTHX_ &e);
    }
}

SV *
bsd_inet_pton(pTHX_ int family, SV *text_sv)
{
    const STRLEN len = S_family_length(aTHX_ family, "inet_pton");
    const char *const text = S_name_arg(aTHX_ text_sv, "address", "inet_pton");
    union { struct in_addr a4; struct in6_addr a6; } addr;
    if (inet_pton(family, text, &addr) != 1)
        bsd_die_arg(aTHX_ "inet_pton", "not an %s address: '%s'",
                    family == AF_INET ? "IPv4" : "IPv6", text);
    return sv_2mortal(newSVpvn((const char *)&addr, len));
}

SV *
bsd_inet_ntop(pTHX_ int family, SV *packed_sv)
{
    const STRLEN len = S_family_length(aTHX_ family, "inet_ntop");
    char text[INET6_ADDRSTRLEN];
    if (!inet_ntop(family, S_packed_arg(aTHX_ packed_sv, len, "inet_ntop"), text, sizeof text))
        bsd_die_errno(aTHX_ "inet_ntop", errno, NULL);
    return sv_2mortal(newSVpv(text, 0));
}

/* has_ipv6: can this host make an IPv6 socket?  Asked once. */
bool
bsd_has_ipv6(void)
{
    static int known = -1;
    if (known < 0) {
        const int fd = bsd_socket(AF_INET6, SOCK_DGRAM, 0, FALSE);
        known = fd >= 0;
        if (fd >= 0)
            close(fd);
    }
    return known == 1;
}
