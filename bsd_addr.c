/*
 * bsd_addr.c - the address converter pair (SPEC 3).
 *
 *   bsd_sockaddr_from_args()  Perl value -> struct sockaddr + length
 *   bsd_sockaddr_to_sv()      struct sockaddr -> Perl value
 *
 * Every method that takes or returns an address goes through these two;
 * a new family is one more branch in each.  What to_sv() makes, from_args()
 * takes back unchanged.
 */
#define PERL_NO_GET_CONTEXT
#include "EXTERN.h"
#include "perl.h"
#include "XSUB.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <stddef.h>
#include <string.h>

#include "bsdsocket.h"

#define SUN_PATH_MAX sizeof(((struct sockaddr_un *)0)->sun_path)

/* The address arrays this module makes carry their sockaddr in this
 * magic (mg_ptr holds a copy of it), and are read-only, elements and all,
 * so that the two cannot drift apart: handing one back to sendto or
 * connect costs a copy, not a parse.  Like a Python tuple, an address is
 * a value; copy it ([@$address]) to change it. */
static MGVTBL bsd_addr_vtbl = {
    NULL, NULL, NULL, NULL, NULL, NULL, NULL, bsd_magic_not_local
};

/* ------------------------------------------------------------ Perl -> C */

/* The n elements of an address array, each get-magic'd once; a missing
 * element reads as undef.  A FETCH (or, later, an overload method) runs
 * Perl code, which could empty or free the array and the other elements:
 * so take all the element SVs first, and when any of them can run code,
 * hold them and the array until the statement ends. */
static void
S_elems(pTHX_ AV *av, SV **out, SSize_t n)
{
    bool can_run_code = cBOOL(SvRMAGICAL(av));
    SSize_t i;
    for (i = 0; i < n; i++) {
        SV *sv;
        if (LIKELY(!SvRMAGICAL(av)))     /* a plain array: read it directly */
            sv = AvARRAY(av)[i];
        else {
            SV **const svp = av_fetch(av, i, 0);
            sv = svp ? *svp : NULL;
        }
        out[i] = sv ? sv : &PL_sv_undef;
        if (SvFLAGS(out[i]) & (SVs_GMG | SVf_ROK))
            can_run_code = TRUE;
    }
    if (UNLIKELY(can_run_code)) {
        sv_2mortal(SvREFCNT_inc_simple_NN(MUTABLE_SV(av)));
        for (i = 0; i < n; i++)
            sv_2mortal(SvREFCNT_inc_simple_NN(out[i]));
    }
    for (i = 0; i < n; i++)
        SvGETMAGIC(out[i]);
}

/* A dotted quad, strictly as inet_pton reads one: four decimal parts of
 * 0..255, no leading zeros, nothing else.  Written out because it is on
 * every sendto's path and inet_pton costs several times as much. */
static bool
S_parse_in4(const char *pv, STRLEN len, struct in_addr *out)
{
    const char *p = pv, *const end = pv + len;
    unsigned char bytes[4];
    int part;
    for (part = 0; part < 4; part++) {
        unsigned value = 0;
        int digits = 0;
        if (part > 0) {
            if (p == end || *p != '.')
                return FALSE;
            p++;
        }
        for (; p < end && isDIGIT(*p); p++) {
            if (++digits > 3)
                return FALSE;
            value = value * 10 + (unsigned)(*p - '0');
        }
        if (digits == 0 || value > 255 || (digits > 1 && p[-digits] == '0'))
            return FALSE;
        bytes[part] = (unsigned char)value;
    }
    if (p != end)
        return FALSE;
    Copy(bytes, &out->s_addr, 4, unsigned char);
    return TRUE;
}

/* The other way: "a.b.c.d" into text (room for INET_ADDRSTRLEN), its length
 * returned.  (glibc's inet_ntop goes through sprintf.) */
static STRLEN
S_format_in4(const struct in_addr *in, char *text)
{
    const unsigned char *const b = (const unsigned char *)&in->s_addr;
    char *p = text;
    int i;
    for (i = 0; i < 4; i++) {
        unsigned v = b[i];
        if (i)
            *p++ = '.';
        if (v >= 100) {
            *p++ = (char)('0' + v / 100);
            v %= 100;
            *p++ = (char)('0' + v / 10);
            v %= 10;
        }
        else if (v >= 10) {
            *p++ = (char)('0' + v / 10);
            v %= 10;
        }
        *p++ = (char)('0' + v);
    }
    *p = '\0';
    return (STRLEN)(p - text);
}

static in_port_t
S_port_from_sv(pTHX_ SV *port, SV *address)
{
    IV value = 0;
    int status;
    if (LIKELY((SvFLAGS(port) & (SVf_IOK|SVf_IVisUV|SVf_ROK|SVf_POK)) == SVf_IOK
               && SvIVX(port) >= 0 && SvIVX(port) <= 65535))
        return htons((in_port_t)SvIVX(port));
    status = bsd_parse_iv(aTHX_ port, 0, 65535, &value);
    if (status == BSD_INT_OK)
        return htons((in_port_t)value);
    if (status == BSD_INT_RANGE)
        bsd_die_address(aTHX_ address,
                        "port must be an integer in 0..65535, got %" SVf,
                        SVfARG(bsd_describe(aTHX_ port)));
    bsd_die_address(aTHX_ address,
                    "port must be an integer in 0..65535, got %" SVf
                    " (service names go through getservbyname)",
                    SVfARG(bsd_describe(aTHX_ port)));
}

/* The host as a C string: a string or an object with "" overloading,
 * bytes only, no NUL inside (it would cut the name short). */
static const char *
S_host_from_sv(pTHX_ SV *host, SV *address)
{
    STRLEN len;
    const char *pv;
    if (!bsd_is_stringish(aTHX_ host))
        bsd_die_address(aTHX_ address, "host must be a string, got %" SVf,
                        SVfARG(bsd_describe(aTHX_ host)));
    pv = bsd_bytes_nomg(aTHX_ host, &len);
    if (!pv)
        bsd_die_address(aTHX_ address, "Wide character in host name");
    if (memchr(pv, '\0', len))
        bsd_die_address(aTHX_ address, "NUL character inside host name %" SVf,
                        SVfARG(bsd_describe(aTHX_ host)));
    return pv;
}

/* A host name that is not a numeric address: ask the resolver. */
static void
S_resolve(pTHX_ int family, const char *host, SV *address, bsd_addr *out)
{
    struct addrinfo hints, *res = NULL;
    int rc;
    Zero(&hints, 1, struct addrinfo);
    hints.ai_family = family;
    rc = getaddrinfo(host, NULL, &hints, &res);
    if (rc != 0) {
        const int err = errno;       /* before anything can change it */
        bsd_die_gai(aTHX_ "address", rc, err, address,
                    sv_2mortal(newSVpvf("cannot resolve host '%s'", host)));
    }
    /* one result is enough; keep its address, our port comes later */
    out->len = res->ai_addrlen < sizeof out->u ? res->ai_addrlen : sizeof out->u;
    Copy(res->ai_addr, &out->u.sa, out->len, char);
    freeaddrinfo(res);
}

static void
S_inet4_from_sv(pTHX_ SV *address, bsd_addr *out)
{
    AV *av;
    SV *host_sv, *port_sv;
    const char *host;
    in_port_t port;
    struct sockaddr_in *const sin = &out->u.in4;

    if (!SvROK(address) || SvTYPE(SvRV(address)) != SVt_PVAV)
        bsd_die_address(aTHX_ address,
                        "an AF_INET address is an array reference [host, port], got %" SVf,
                        SVfARG(bsd_describe(aTHX_ address)));
    av = MUTABLE_AV(SvRV(address));
    if (av_count(av) != 2)
        bsd_die_address(aTHX_ address,
                        "an AF_INET address has 2 elements [host, port], got %" UVuf,
                        (UV)av_count(av));
    {
        SV *elems[2];
        S_elems(aTHX_ av, elems, 2);
        host_sv = elems[0];
        port_sv = elems[1];
    }
    /* the port first: a bad one must not cost a resolver call */
    port = S_port_from_sv(aTHX_ port_sv, address);

    Zero(sin, 1, struct sockaddr_in);
    sin->sin_family = AF_INET;
    sin->sin_port = port;
    out->len = sizeof(struct sockaddr_in);

    /* the common case, a dotted quad in a plain string */
    if (LIKELY((SvFLAGS(host_sv) & (SVf_POK|SVf_UTF8|SVf_ROK)) == SVf_POK)
        && S_parse_in4(SvPVX_const(host_sv), SvCUR(host_sv), &sin->sin_addr))
        return;

    host = S_host_from_sv(aTHX_ host_sv, address);
    if (!*host)
        sin->sin_addr.s_addr = htonl(INADDR_ANY);
    else if (strEQ(host, "<broadcast>"))
        sin->sin_addr.s_addr = htonl(INADDR_BROADCAST);
    else if (!S_parse_in4(host, strlen(host), &sin->sin_addr)) {
        struct in6_addr v6;
        if (inet_pton(AF_INET6, host, &v6) == 1)
            bsd_die_address(aTHX_ address,
                            "'%s' is an IPv6 address, this is an AF_INET socket", host);
        S_resolve(aTHX_ AF_INET, host, address, out);
        sin->sin_port = port;
    }
}

/* A path string; a leading NUL names the Linux abstract namespace, where
 * the name is every byte given (NULs included) and no terminator. */
static void
S_unix_from_sv(pTHX_ SV *address, bsd_addr *out)
{
    STRLEN len;
    const char *path;
    struct sockaddr_un *const sun = &out->u.un;

    if (!bsd_is_stringish(aTHX_ address))
        bsd_die_address(aTHX_ address,
                        "an AF_UNIX address is a path string, got %" SVf,
                        SVfARG(bsd_describe(aTHX_ address)));
    path = bsd_bytes_nomg(aTHX_ address, &len);
    if (!path)
        bsd_die_address(aTHX_ address, "Wide character in AF_UNIX path");
    if (len > 0 && path[0] != '\0' && memchr(path, '\0', len))
        bsd_die_address(aTHX_ address, "NUL character inside AF_UNIX path %" SVf,
                        SVfARG(bsd_describe(aTHX_ address)));
    if (len > SUN_PATH_MAX)
        bsd_die_address(aTHX_ address,
                        "AF_UNIX path is %" UVuf " bytes, longer than the %"
                        UVuf "-byte limit of sun_path",
                        (UV)len, (UV)SUN_PATH_MAX);

    /* all of the storage: a sun_path-long path has no NUL of its own,
     * and the bytes after it must read as one */
    Zero(&out->u, 1, struct sockaddr_storage);
    sun->sun_family = AF_UNIX;
    Copy(path, sun->sun_path, len, char);
    /* no terminating NUL counted, as CPython does: the kernel adds one */
    out->len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len);
}

/* [$family, $raw_bytes] for families without a branch of their own: the
 * bytes after sa_family, exactly as to_sv() gives them out. */
static void
S_raw_from_sv(pTHX_ int family, SV *address, bsd_addr *out)
{
    AV *av;
    SV *family_sv, *raw_sv;
    IV given_family = 0;
    STRLEN len;
    const char *raw;
    const STRLEN room = sizeof(out->u) - offsetof(struct sockaddr, sa_data);

    if (!SvROK(address) || SvTYPE(SvRV(address)) != SVt_PVAV
        || av_count(MUTABLE_AV(SvRV(address))) != 2)
        bsd_die_address(aTHX_ address,
                        "an address of family %d is an array reference [family, bytes], got %" SVf,
                        family, SVfARG(bsd_describe(aTHX_ address)));
    av = MUTABLE_AV(SvRV(address));
    {
        SV *elems[2];
        S_elems(aTHX_ av, elems, 2);
        family_sv = elems[0];
        raw_sv = elems[1];
    }
    if (bsd_parse_iv(aTHX_ family_sv, 0, 65535, &given_family) != BSD_INT_OK
        || given_family != family)
        bsd_die_address(aTHX_ address,
                        "address family %" SVf " does not match the socket's family %d",
                        SVfARG(bsd_describe(aTHX_ family_sv)), family);
    raw = bsd_is_stringish(aTHX_ raw_sv) ? bsd_bytes_nomg(aTHX_ raw_sv, &len) : NULL;
    if (!raw)
        bsd_die_address(aTHX_ address, "address bytes must be a byte string, got %" SVf,
                        SVfARG(bsd_describe(aTHX_ raw_sv)));
    if (len > room)
        bsd_die_address(aTHX_ address,
                        "address is %" UVuf " bytes, longer than the %" UVuf "-byte limit",
                        (UV)len, (UV)room);
    Zero(&out->u, 1, struct sockaddr_storage);
    out->u.sa.sa_family = (sa_family_t)family;
    Copy(raw, out->u.sa.sa_data, len, char);
    out->len = (socklen_t)(offsetof(struct sockaddr, sa_data) + len);
}

static void
S_sockaddr_from_sv(pTHX_ int family, SV *address, bsd_addr *out)
{
    /* an address array this module made knows its sockaddr already */
    if (SvROK(address) && SvRMAGICAL(SvRV(address))) {
        const MAGIC *const mg = mg_findext(SvRV(address), PERL_MAGIC_ext, &bsd_addr_vtbl);
        if (mg && ((const struct sockaddr *)mg->mg_ptr)->sa_family == family) {
            out->len = (socklen_t)mg->mg_len;
            Copy(mg->mg_ptr, &out->u, mg->mg_len, char);
            return;
        }
    }
    switch (family) {
    case AF_INET:
        S_inet4_from_sv(aTHX_ address, out);
        break;
    case AF_UNIX:
        S_unix_from_sv(aTHX_ address, out);
        break;
    default:
        S_raw_from_sv(aTHX_ family, address, out);
        break;
    }
}

void
bsd_sockaddr_from_args(pTHX_ int family, SV **args, I32 nargs, bsd_addr *out)
{
    SV *address = args[0];
    if (nargs == 2 && family == AF_INET) {
        /* the seed's $s->connect($host, $port): the same as [$host, $port] */
        AV *const av = av_make(2, args);
        address = sv_2mortal(newRV_noinc(MUTABLE_SV(av)));
    }
    else if (nargs != 1)
        bsd_die_arg(aTHX_ "address",
                    "expected one address%s, got %d arguments",
                    family == AF_INET ? " or (host, port)" : "", (int)nargs);
    SvGETMAGIC(address);
    S_sockaddr_from_sv(aTHX_ family, address, out);
}

/* ------------------------------------------------------------ C -> Perl */

/* Addresses come from outside the program: taint them, as perl's own
 * recv and getpeername do. */
static SV *
S_tainted(pTHX_ SV *sv)
{
    if (UNLIKELY(TAINTING_get))
        SvTAINTED_on(sv);
    return sv;
}

/* A read-only address array reference over the n new SVs given. */
static SV *
S_address_array(pTHX_ SV **elems, SSize_t n, const bsd_addr *addr)
{
    SSize_t i;
#ifdef newAV_alloc_x
    AV *const av = newAV_alloc_x(n);
    for (i = 0; i < n; i++) {
        SvREADONLY_on(elems[i]);
        AvARRAY(av)[i] = elems[i];
    }
    AvFILLp(av) = n - 1;
#else
    AV *const av = newAV();
    av_extend(av, n - 1);
    for (i = 0; i < n; i++) {
        SvREADONLY_on(elems[i]);
        av_store(av, i, elems[i]);
    }
#endif
    sv_magicext(MUTABLE_SV(av), NULL, PERL_MAGIC_ext, &bsd_addr_vtbl,
                (const char *)&addr->u, (I32)addr->len)->mg_flags |= MGf_LOCAL;
    SvREADONLY_on(av);
    return newRV_noinc(MUTABLE_SV(av));
}

SV *
bsd_sockaddr_to_sv(pTHX_ const bsd_addr *addr)
{
    const socklen_t family_end = offsetof(struct sockaddr, sa_data);
    /* the kernel reports an address's full length even when it had to
     * cut it to fit our buffer: read no further than the buffer */
    const socklen_t len = addr->len < sizeof addr->u ? addr->len : sizeof addr->u;
    SV *elems[2];

    if (len < family_end)
        return newSV(0);      /* no address at all: recvfrom on TCP */

    switch (addr->u.sa.sa_family) {
    case AF_INET:
        if (len >= sizeof(struct sockaddr_in)) {
            char text[INET_ADDRSTRLEN];
            const STRLEN text_len = S_format_in4(&addr->u.in4.sin_addr, text);
            elems[0] = S_tainted(aTHX_ newSVpvn(text, text_len));
            elems[1] = S_tainted(aTHX_ newSVuv(ntohs(addr->u.in4.sin_port)));
            return S_address_array(aTHX_ elems, 2, addr);
        }
        break;
    case AF_UNIX: {
        const char *const path = addr->u.un.sun_path;
        STRLEN path_len = len - offsetof(struct sockaddr_un, sun_path);
        /* 0 bytes: an unnamed socket ('').  A leading NUL: the abstract
         * namespace, where every byte the kernel gave counts.  Otherwise a
         * path, up to its NUL (a sun_path-long path has none). */
        if (path_len > 0 && path[0] != '\0')
            path_len = strnlen(path, path_len);
        return S_tainted(aTHX_ newSVpvn(path, path_len));
    }
    default:
        break;
    }
    elems[0] = newSViv(addr->u.sa.sa_family);
    elems[1] = S_tainted(aTHX_ newSVpvn(addr->u.sa.sa_data, len - family_end));
    return S_address_array(aTHX_ elems, 2, addr);
}

/* As bsd_sockaddr_to_sv, for an address that tends to repeat (the peer
 * of recvfrom): *cache holds the last array made; while the address
 * stays the same, that array is handed out again. */
SV *
bsd_sockaddr_to_sv_cached(pTHX_ const bsd_addr *addr, SV **cache)
{
    SV *rv;
    if (*cache) {
        const MAGIC *const mg = mg_findext(*cache, PERL_MAGIC_ext, &bsd_addr_vtbl);
        if (mg && (socklen_t)mg->mg_len == addr->len
            && memEQ(mg->mg_ptr, &addr->u, addr->len))
            return newRV_inc(*cache);
    }
    rv = bsd_sockaddr_to_sv(aTHX_ addr);
    if (SvROK(rv)) {                 /* an array (a path string is cheap anyway) */
        SvREFCNT_dec(*cache);
        *cache = SvREFCNT_inc_simple_NN(SvRV(rv));
    }
    return rv;
}

/* ------------------------------------------------------------ resolver */

/* A name for the resolver: bytes, and no NUL inside (C would stop there
 * and look up a different name).  The string is a mortal copy: a later
 * argument's magic cannot change or free it under us. */
static const char *
S_name_nomg(pTHX_ SV *sv, const char *what, const char *op)
{
    STRLEN len;
    const char *pv;
    if (!bsd_is_stringish(aTHX_ sv))
        bsd_die_arg(aTHX_ op, "%s must be a string, got %" SVf, what,
                    SVfARG(bsd_describe(aTHX_ sv)));
    pv = bsd_bytes_nomg(aTHX_ sv, &len);
    if (!pv)
        bsd_die_arg(aTHX_ op, "Wide character in %s", op);
    if (memchr(pv, '\0', len))
        bsd_die_arg(aTHX_ op, "NUL character inside %s %" SVf, what,
                    SVfARG(bsd_describe(aTHX_ sv)));
    return SvPVX(sv_2mortal(newSVpvn(pv, len)));
}

static const char *
S_name_arg(pTHX_ SV *sv, const char *what, const char *op)
{
    SvGETMAGIC(sv);
    return S_name_nomg(aTHX_ sv, what, op);
}

/* gethostbyname: the first IPv4 address of a name, as a dotted quad.  An
 * IPv4 literal comes back as given; '' and '<broadcast>' mean what they
 * mean in an address.  Failures are BSDSocket::Error::Host (h_errno). */
SV *
bsd_gethostbyname(pTHX_ SV *name_sv)
{
    const char *const name = S_name_arg(aTHX_ name_sv, "host name", "gethostbyname");
    struct in_addr in4;
    char text[INET_ADDRSTRLEN];
    struct hostent entry, *found = NULL;
    SV *const scratch = sv_newmortal();
    size_t room = 1024;
    int rc, h_err = 0;

    if (S_parse_in4(name, strlen(name), &in4))
        return sv_2mortal(newSVpv(name, 0));
    if (!*name || strEQ(name, "<broadcast>"))
        in4.s_addr = htonl(*name ? INADDR_BROADCAST : INADDR_ANY);
    else {
        for (;;) {
            char *const buf = bsd_grow_or_die(aTHX_ scratch, room, "gethostbyname");
            rc = gethostbyname_r(name, &entry, buf, room, &found, &h_err);
            if (rc != ERANGE || room >= 1024 * 1024)
                break;
            room *= 2;
        }
        if (!found) {
            if (h_err == NETDB_INTERNAL)
                bsd_die_errno(aTHX_ "gethostbyname", rc ? rc : errno, NULL);
            bsd_die_host(aTHX_ "gethostbyname", h_err, name);
        }
        if (found->h_addrtype != AF_INET || !found->h_addr_list[0])
            bsd_die_host(aTHX_ "gethostbyname", NO_DATA, name);
        Copy(found->h_addr_list[0], &in4, 1, struct in_addr);
    }
    return sv_2mortal(newSVpvn(text, S_format_in4(&in4, text)));
}

/* getservbyname: the port of a service; proto NULL or undef means any. */
int
bsd_getservbyname(pTHX_ SV *service_sv, SV *proto_sv)
{
    const char *const service = S_name_arg(aTHX_ service_sv, "service", "getservbyname");
    const char *proto = NULL;
    struct servent entry, *found = NULL;
    char buf[4096];

    if (proto_sv) {
        SvGETMAGIC(proto_sv);
        if (SvOK(proto_sv) || SvROK(proto_sv))
            proto = S_name_nomg(aTHX_ proto_sv, "protocol", "getservbyname");
    }
    if (getservbyname_r(service, proto, &entry, buf, sizeof buf, &found) != 0
        || !found)
        bsd_throw(aTHX_ BSD_ERROR_CLASS, "getservbyname", 0, 0,
                  newSVpvf("service '%s' not found%s%s", service,
                           proto ? " for protocol " : "", proto ? proto : ""),
                  NULL, NULL);
    return ntohs((in_port_t)found->s_port);
}
