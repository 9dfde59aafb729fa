/*
 * addr.c - the address converter pair.
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
#include <net/if.h>

#include "bsdsocket.h"
#ifdef BSD_HAVE_LINUX_FAMILIES
#  include <netpacket/packet.h>
#  include <linux/netlink.h>
#  include <linux/vm_sockets.h>
#  include <linux/if_alg.h>
#endif

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
bool
bsd_parse_in4(const char *pv, STRLEN len, struct in_addr *out)
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
STRLEN
bsd_format_in4(const struct in_addr *in, char *text)
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

/* A host name that is not a numeric address: ask the resolver, unless
 * the caller wants numeric addresses only (BSD_ADDR_NUMERIC).  (An IPv6
 * literal with a %scope is asked with AI_NUMERICHOST: getaddrinfo knows
 * how to turn an interface name into a scope id, and asks no one.) */
static void
S_resolve(pTHX_ bsd_sock *s, int family, const char *host, int flags, SV *address,
          bsd_addr *out, const char *op)
{
    struct addrinfo hints, *res = NULL;
    int rc;
    /* the socket's call starts now: the lookup counts against its
     * timeout, and what is left of that is the call's (call.c, S_drive).
     * A non-blocking socket's lookup waits as long as it takes, as
     * CPython's does: there is no "try again" for a name. */
    const double timeout = bsd_effective_timeout(aTHX_ s && s->timeout > 0 ? s->timeout : -1.0);
    const double started = bsd_now();
    Zero(&hints, 1, struct addrinfo);
    hints.ai_family = family;
    hints.ai_flags = flags;
    rc = bsd_getaddrinfo_timed(aTHX_ host, NULL, &hints, &res, timeout, "getaddrinfo");
    if (rc != 0) {
        const int err = errno;       /* before anything can change it */
        bsd_die_gai(aTHX_ op, rc, err, address,
                    sv_2mortal(flags & AI_NUMERICHOST
                               ? newSVpvf("'%s' is not a numeric address", host)
                               : newSVpvf("cannot resolve host '%s'", host)));
    }
    /* one result is enough; keep its address, our port comes later */
    bsd_addr_from_ai(res, out);
    freeaddrinfo(res);
    if (s && timeout > 0) {
        s->call_deadline = started + timeout;
        s->call_deadline_op = PL_op;
    }
}

/* An address from getaddrinfo, as long as it is (never longer than ours). */
void
bsd_addr_from_ai(const struct addrinfo *ai, bsd_addr *out)
{
    out->len = ai->ai_addrlen < sizeof out->u ? (socklen_t)ai->ai_addrlen : sizeof out->u;
    Copy(ai->ai_addr, &out->u.sa, out->len, char);
}

/* [$host, $port] (AF_INET), [$host, $port, $flowinfo = 0, $scope_id = 0]
 * (AF_INET6; $host may carry %scope, an interface name or number, which
 * an explicit non-zero $scope_id overrides), or either for AF_UNSPEC:
 * three or four elements, or a host with a colon in it, is IPv6. */
static void
S_inet_from_sv(pTHX_ bsd_sock *s, int family, SV *address, bsd_addr *out, int flags)
{
    const char *const op = (flags & BSD_ADDR_NUMERIC) ? "getnameinfo" : "address";
    const char *const shape = family == AF_INET ? "[host, port]"
        : family == AF_INET6 ? "[host, port, flowinfo, scope_id]"
        : "[host, port] or [host, port, flowinfo, scope_id]";
    const char *const name = family == AF_INET ? "an AF_INET" : family == AF_INET6
        ? "an AF_INET6" : "an AF_INET or AF_INET6";
    const SSize_t most = family == AF_INET ? 2 : 4;
    SV *elems[4];
    SSize_t count;
    const char *host;
    IV flowinfo = 0;
    UV scope_id = 0;
    in_port_t port;

    if (!SvROK(address) || SvTYPE(SvRV(address)) != SVt_PVAV)
        bsd_die_address(aTHX_ address, "%s address is an array reference %s, got %" SVf,
                        name, shape, SVfARG(bsd_describe(aTHX_ address)));
    count = av_count(MUTABLE_AV(SvRV(address)));
    if (count < 2 || count > most)
        bsd_die_address(aTHX_ address, "%s address has %s elements %s, got %" UVuf,
                        name, most == 2 ? "2" : "2 to 4", shape, (UV)count);
    S_elems(aTHX_ MUTABLE_AV(SvRV(address)), elems, count);
    /* the port first: a bad one must not cost a resolver call */
    port = S_port_from_sv(aTHX_ elems[1], address);

    /* the common case, a dotted quad in a plain string */
    if (family != AF_INET6 && count == 2
        && LIKELY((SvFLAGS(elems[0]) & (SVf_POK|SVf_UTF8|SVf_ROK)) == SVf_POK)
        && bsd_parse_in4(SvPVX_const(elems[0]), SvCUR(elems[0]), &out->u.in4.sin_addr)) {
        const struct in_addr in4 = out->u.in4.sin_addr;
        Zero(&out->u.in4, 1, struct sockaddr_in);
        out->u.in4.sin_family = AF_INET;
        out->u.in4.sin_port = port;
        out->u.in4.sin_addr = in4;
        out->len = sizeof(struct sockaddr_in);
        return;
    }

    host = bsd_cstring_nomg(aTHX_ elems[0], "host name", "address", address);
    if (family == AF_UNSPEC)
        family = count > 2 || strchr(host, ':') ? AF_INET6 : AF_INET;
    if (family == AF_INET6 && count > 2
        && bsd_parse_iv(aTHX_ elems[2], 0, 0xfffff, &flowinfo) != BSD_INT_OK)
        bsd_die_address(aTHX_ address, "flowinfo must be an integer in 0..1048575, got %" SVf,
                        SVfARG(bsd_describe(aTHX_ elems[2])));
    if (family == AF_INET6 && count > 3
        && bsd_parse_uv(aTHX_ elems[3], 0xffffffffU, &scope_id) != BSD_INT_OK)
        bsd_die_address(aTHX_ address, "scope_id must be an integer in 0..4294967295, got %" SVf,
                        SVfARG(bsd_describe(aTHX_ elems[3])));

    Zero(&out->u, 1, struct sockaddr_storage);
    if (family == AF_INET) {
        struct sockaddr_in *const sin = &out->u.in4;
        struct in6_addr v6;
        if (!*host)
            sin->sin_addr.s_addr = htonl(INADDR_ANY);
        else if (strEQ(host, "<broadcast>"))
            sin->sin_addr.s_addr = htonl(INADDR_BROADCAST);
        else if (bsd_parse_in4(host, strlen(host), &sin->sin_addr))
            ;
        else if (inet_pton(AF_INET6, host, &v6) == 1)
            bsd_die_address(aTHX_ address,
                            "'%s' is an IPv6 address, this is an AF_INET socket", host);
        else
            S_resolve(aTHX_ s, AF_INET, host, flags & BSD_ADDR_NUMERIC ? AI_NUMERICHOST : 0,
                      address, out, op);
        sin->sin_family = AF_INET;
        sin->sin_port = port;
        out->len = sizeof(struct sockaddr_in);
    }
    else {
        struct sockaddr_in6 *const sin6 = &out->u.in6;
        if (*host && inet_pton(AF_INET6, host, &sin6->sin6_addr) != 1) {
            struct in_addr v4;
            if (bsd_parse_in4(host, strlen(host), &v4))
                bsd_die_address(aTHX_ address,
                                "'%s' is an IPv4 address, this is an AF_INET6 socket (::ffff:%s maps it)",
                                host, host);
            S_resolve(aTHX_ s, AF_INET6, host,
                      strchr(host, '%') || (flags & BSD_ADDR_NUMERIC) ? AI_NUMERICHOST : 0,
                      address, out, op);
        }
        /* '' is in6addr_any: all zeros, as Zero left it */
        sin6->sin6_family = AF_INET6;
        sin6->sin6_port = port;
        sin6->sin6_flowinfo = htonl((uint32_t)flowinfo);
        if (scope_id)
            sin6->sin6_scope_id = (uint32_t)scope_id;
        out->len = sizeof(struct sockaddr_in6);
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
#ifndef BSD_HAVE_ABSTRACT_UNIX
    if (len > 0 && path[0] == '\0') {
        bsd_error e = BSD_ERROR("address", ENOSYS);
        e.message = newSVpvs("abstract AF_UNIX names (a leading NUL) need Linux");
        e.address = address;
        bsd_throw(aTHX_ &e);
    }
#endif
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

#ifdef BSD_HAVE_LINUX_FAMILIES
/* ------------------------------------- Linux's families, as CPython's */

static SV *S_address_array(pTHX_ SV **elems, SSize_t n, const bsd_addr *addr);

/* The parts of [$a, $b, ...]: between fewest and most of them. */
static SSize_t
S_parts(pTHX_ SV *address, SV **elems, SSize_t fewest, SSize_t most, const char *shape)
{
    SSize_t count;
    if (!SvROK(address) || SvTYPE(SvRV(address)) != SVt_PVAV
        || (count = (SSize_t)av_count(MUTABLE_AV(SvRV(address)))) < fewest || count > most)
        bsd_die_address(aTHX_ address, "an address of this family is %s, got %" SVf, shape,
                        SVfARG(bsd_describe(aTHX_ address)));
    S_elems(aTHX_ MUTABLE_AV(SvRV(address)), elems, count);
    return count;
}

static UV
S_uint_part(pTHX_ SV *address, SV *part, UV max, const char *what)
{
    UV value = 0;
    if (bsd_parse_uv(aTHX_ part, max, &value) != BSD_INT_OK)
        bsd_die_address(aTHX_ address, "%s must be an integer in 0..%" UVuf ", got %" SVf,
                        what, max, SVfARG(bsd_describe(aTHX_ part)));
    return value;
}

/* A name part: bytes, no NUL, shorter than room (never cut short). */
static const char *
S_name_part(pTHX_ SV *address, SV *part, STRLEN room, const char *what)
{
    const char *const name = bsd_cstring_nomg(aTHX_ part, what, "address", address);
    if (strlen(name) >= room)
        bsd_die_address(aTHX_ address, "%s is at most %" UVuf " bytes, got %" SVf, what,
                        (UV)(room - 1), SVfARG(bsd_describe(aTHX_ part)));
    return name;
}

/* AF_NETLINK [$pid, $groups]; AF_VSOCK [$cid, $port]; AF_PACKET
 * [$ifname, $proto, $pkttype = 0, $hatype = 0, $addr = '']; AF_ALG
 * [$type, $name]. */
static bool
S_linux_from_sv(pTHX_ int family, SV *address, bsd_addr *out)
{
    SV *elems[5];
    Zero(&out->u, 1, struct sockaddr_storage);
    switch (family) {
    case AF_NETLINK: {
        struct sockaddr_nl *const nl = (struct sockaddr_nl *)&out->u;
        (void)S_parts(aTHX_ address, elems, 2, 2, "[$pid, $groups]");
        nl->nl_family = AF_NETLINK;
        nl->nl_pid = (uint32_t)S_uint_part(aTHX_ address, elems[0], 0xffffffffU, "pid");
        nl->nl_groups = (uint32_t)S_uint_part(aTHX_ address, elems[1], 0xffffffffU, "groups");
        out->len = sizeof *nl;
        return TRUE;
    }
    case AF_VSOCK: {
        struct sockaddr_vm *const vm = (struct sockaddr_vm *)&out->u;
        (void)S_parts(aTHX_ address, elems, 2, 2, "[$cid, $port]");
        vm->svm_family = AF_VSOCK;
        vm->svm_cid = (unsigned)S_uint_part(aTHX_ address, elems[0], 0xffffffffU, "cid");
        vm->svm_port = (unsigned)S_uint_part(aTHX_ address, elems[1], 0xffffffffU, "port");
        out->len = sizeof *vm;
        return TRUE;
    }
    case AF_PACKET: {
        struct sockaddr_ll *const ll = (struct sockaddr_ll *)&out->u;
        const SSize_t n = S_parts(aTHX_ address, elems, 2, 5,
                                  "[$ifname, $proto, $pkttype, $hatype, $addr]");
        const char *const ifname = S_name_part(aTHX_ address, elems[0], IF_NAMESIZE, "ifname");
        ll->sll_family = AF_PACKET;
        ll->sll_protocol = htons((uint16_t)S_uint_part(aTHX_ address, elems[1], 0xffff, "proto"));
        ll->sll_pkttype = n > 2 ? (unsigned char)S_uint_part(aTHX_ address, elems[2], 0xff, "pkttype") : 0;
        ll->sll_hatype = n > 3 ? (unsigned short)S_uint_part(aTHX_ address, elems[3], 0xffff, "hatype") : 0;
        if (n > 4) {
            STRLEN len;
            const char *const bytes = bsd_is_stringish(aTHX_ elems[4])
                                    ? bsd_bytes_nomg(aTHX_ elems[4], &len) : NULL;
            if (!bytes || len > sizeof ll->sll_addr)
                bsd_die_address(aTHX_ address, "addr must be a byte string of at most %" UVuf
                                " bytes, got %" SVf, (UV)sizeof ll->sll_addr,
                                SVfARG(bsd_describe(aTHX_ elems[4])));
            Copy(bytes, ll->sll_addr, len, char);
            ll->sll_halen = (unsigned char)len;
        }
        /* '' is every interface (index 0); a name must be there */
        if (*ifname) {
            unsigned index;
            errno = 0;
            index = if_nametoindex(ifname);
            if (!index) {
                bsd_error e = BSD_ERROR("address", errno ? errno : ENODEV);
                e.message = newSVpvf("no interface named '%s'", ifname);
                e.address = address;
                bsd_throw(aTHX_ &e);
            }
            ll->sll_ifindex = (int)index;
        }
        out->len = sizeof *ll;
        return TRUE;
    }
    case AF_ALG: {
        struct sockaddr_alg *const alg = (struct sockaddr_alg *)&out->u;
        const char *type, *name;
        (void)S_parts(aTHX_ address, elems, 2, 2, "[$type, $name]");
        type = S_name_part(aTHX_ address, elems[0], sizeof alg->salg_type, "type");
        name = S_name_part(aTHX_ address, elems[1], sizeof alg->salg_name, "name");
        alg->salg_family = AF_ALG;
        Copy(type, alg->salg_type, strlen(type), char);
        Copy(name, alg->salg_name, strlen(name), char);
        out->len = sizeof *alg;
        return TRUE;
    }
    default:
        return FALSE;
    }
}

/* The other way; NULL when the address is too short for its family. */
static SV *
S_linux_to_sv(pTHX_ const bsd_addr *addr, socklen_t len)
{
    SV *elems[5];
    switch (addr->u.sa.sa_family) {
    case AF_NETLINK: {
        const struct sockaddr_nl *const nl = (const struct sockaddr_nl *)&addr->u;
        if (len < sizeof *nl)
            return NULL;
        elems[0] = newSVuv(nl->nl_pid);
        elems[1] = newSVuv(nl->nl_groups);
        return S_address_array(aTHX_ elems, 2, addr);
    }
    case AF_VSOCK: {
        const struct sockaddr_vm *const vm = (const struct sockaddr_vm *)&addr->u;
        if (len < sizeof *vm)
            return NULL;
        elems[0] = newSVuv(vm->svm_cid);
        elems[1] = newSVuv(vm->svm_port);
        return S_address_array(aTHX_ elems, 2, addr);
    }
    case AF_PACKET: {
        const struct sockaddr_ll *const ll = (const struct sockaddr_ll *)&addr->u;
        char ifname[IF_NAMESIZE + 1] = "";
        if (len < offsetof(struct sockaddr_ll, sll_addr))
            return NULL;
        if (ll->sll_ifindex > 0 && !if_indextoname((unsigned)ll->sll_ifindex, ifname))
            ifname[0] = '\0';
        ifname[IF_NAMESIZE] = '\0';
        elems[0] = bsd_tainted(newSVpv(ifname, 0));
        elems[1] = newSVuv(ntohs(ll->sll_protocol));
        elems[2] = newSVuv(ll->sll_pkttype);
        elems[3] = newSVuv(ll->sll_hatype);
        {
            /* (no further than the struct, nor than the length given) */
            const size_t room = len - offsetof(struct sockaddr_ll, sll_addr);
            size_t halen = ll->sll_halen < sizeof ll->sll_addr ? ll->sll_halen : sizeof ll->sll_addr;
            if (halen > room)
                halen = room;
            elems[4] = bsd_tainted(newSVpvn((const char *)ll->sll_addr, halen));
        }
        return S_address_array(aTHX_ elems, 5, addr);
    }
    case AF_ALG: {
        const struct sockaddr_alg *const alg = (const struct sockaddr_alg *)&addr->u;
        if (len < sizeof *alg)
            return NULL;
        elems[0] = newSVpvn((const char *)alg->salg_type,
                            strnlen((const char *)alg->salg_type, sizeof alg->salg_type));
        elems[1] = newSVpvn((const char *)alg->salg_name,
                            strnlen((const char *)alg->salg_name, sizeof alg->salg_name));
        return S_address_array(aTHX_ elems, 2, addr);
    }
    default:
        return NULL;
    }
}
#endif

static const char *
S_family_name(int family)
{
    switch (family) {
    case AF_INET:  return "AF_INET";
    case AF_INET6: return "AF_INET6";
    case AF_UNIX:  return "AF_UNIX";
    default:       return NULL;
    }
}

static void
S_sockaddr_from_sv(pTHX_ bsd_sock *s, int family, SV *address, bsd_addr *out, int flags)
{
    /* an address array this module made knows its sockaddr already */
    if (SvROK(address) && SvRMAGICAL(SvRV(address))) {
        const MAGIC *const mg = mg_findext(SvRV(address), PERL_MAGIC_ext, &bsd_addr_vtbl);
        if (mg) {
            const int has = ((const struct sockaddr *)mg->mg_ptr)->sa_family;
            const char *const has_name = S_family_name(has), *const want_name = S_family_name(family);
            if (has == family || (family == AF_UNSPEC && (has == AF_INET || has == AF_INET6))) {
                out->len = (socklen_t)mg->mg_len;
                Copy(mg->mg_ptr, &out->u, mg->mg_len, char);
                return;
            }
            /* say so, rather than what the element count looks like */
            if (has_name && want_name)
                bsd_die_address(aTHX_ address, "wrong family: an %s address for an %s socket",
                                has_name, want_name);
        }
    }
    switch (family) {
    case AF_INET:
    case AF_INET6:
    case AF_UNSPEC:
        S_inet_from_sv(aTHX_ s, family, address, out, flags);
        break;
    case AF_UNIX:
        S_unix_from_sv(aTHX_ address, out);
        break;
    default:
#ifdef BSD_HAVE_LINUX_FAMILIES
        if (S_linux_from_sv(aTHX_ family, address, out))
            break;
#endif
        S_raw_from_sv(aTHX_ family, address, out);
        break;
    }
    bsd_addr_set_sa_len(out);
}

void
bsd_sockaddr_from_args(pTHX_ bsd_sock *s, SV **args, I32 nargs, bsd_addr *out)
{
    const int family = s->family;
    SV *address = args[0];
    s->call_deadline = 0;               /* (set again if this looks a name up) */
    if (nargs == 2 && (family == AF_INET || family == AF_INET6)) {
        /* $s->connect($host, $port), the older form: [$host, $port] */
        AV *const av = av_make(2, args);
        address = sv_2mortal(newRV_noinc(MUTABLE_SV(av)));
    }
    else if (nargs != 1)
        bsd_die_arg(aTHX_ "address",
                    "expected one address%s, got %d arguments",
                    family == AF_INET || family == AF_INET6 ? " or (host, port)" : "",
                    (int)nargs);
    SvGETMAGIC(address);
    S_sockaddr_from_sv(aTHX_ s, family, address, out, 0);
}

void
bsd_sockaddr_from_sv_nomg(pTHX_ bsd_sock *s, int family, SV *address, bsd_addr *out, int flags)
{
    S_sockaddr_from_sv(aTHX_ s, family, address, out, flags);
}

/* ------------------------------------------------------------ C -> Perl */

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
bsd_sockaddr_to_sv(pTHX_ const bsd_addr *addr, int family)
{
    const socklen_t family_end = offsetof(struct sockaddr, sa_data);
    /* the kernel reports an address's full length even when it had to
     * cut it to fit our buffer: read no further than the buffer */
    const socklen_t len = addr->len < sizeof addr->u ? addr->len : sizeof addr->u;
    SV *elems[2];

    if (len < family_end)     /* no address at all: recvfrom on TCP; an */
        return family == AF_UNIX    /* unbound AF_UNIX sender, unnamed */
            ? bsd_tainted(newSVpvs("")) : newSV(0);

    switch (addr->u.sa.sa_family) {
    case AF_INET:
        if (len >= sizeof(struct sockaddr_in)) {
            char text[INET_ADDRSTRLEN];
            const STRLEN text_len = bsd_format_in4(&addr->u.in4.sin_addr, text);
            elems[0] = bsd_tainted(newSVpvn(text, text_len));
            elems[1] = bsd_tainted(newSVuv(ntohs(addr->u.in4.sin_port)));
            return S_address_array(aTHX_ elems, 2, addr);
        }
        break;
    case AF_INET6:
        if (len >= sizeof(struct sockaddr_in6)) {
            char text[INET6_ADDRSTRLEN];
            SV *elems6[4];
            inet_ntop(AF_INET6, &addr->u.in6.sin6_addr, text, sizeof text);
            elems6[0] = bsd_tainted(newSVpv(text, 0));
            elems6[1] = bsd_tainted(newSVuv(ntohs(addr->u.in6.sin6_port)));
            elems6[2] = bsd_tainted(newSVuv(ntohl(addr->u.in6.sin6_flowinfo)));
            elems6[3] = bsd_tainted(newSVuv(addr->u.in6.sin6_scope_id));
            return S_address_array(aTHX_ elems6, 4, addr);
        }
        break;
    case AF_UNIX: {
        const char *const path = addr->u.un.sun_path;
        STRLEN path_len = len - offsetof(struct sockaddr_un, sun_path);
        /* 0 bytes: an unnamed socket ('').  A leading NUL: on Linux the
         * abstract namespace, where every byte the kernel gave counts;
         * elsewhere an unnamed socket too (the BSDs and macOS give it as
         * a sun_path of NULs, not as no bytes).  Otherwise a path, up to
         * its NUL (a sun_path-long path has none). */
#ifdef BSD_HAVE_ABSTRACT_UNIX
        if (path_len > 0 && path[0] != '\0')
#endif
            path_len = strnlen(path, path_len);
        return bsd_tainted(newSVpvn(path, path_len));
    }
    default: {
#ifdef BSD_HAVE_LINUX_FAMILIES
        SV *const linux_address = S_linux_to_sv(aTHX_ addr, len);
        if (linux_address)
            return linux_address;
#endif
        break;
    }
    }
    elems[0] = newSViv(addr->u.sa.sa_family);
    elems[1] = bsd_tainted(newSVpvn(addr->u.sa.sa_data, len - family_end));
    return S_address_array(aTHX_ elems, 2, addr);
}

/* How an address reads in an error's text (a new SV): 127.0.0.1:80,
 * [::1]:80 ([fe80::1%eth0]:80 with a scope), an AF_UNIX path or @name
 * for an abstract one, "family N" for anything else. */
SV *
bsd_address_text(pTHX_ const bsd_addr *addr)
{
    const socklen_t len = addr->len < sizeof addr->u ? addr->len : sizeof addr->u;
    if (len < offsetof(struct sockaddr, sa_data))
        return newSVpvs("an unnamed address");
    switch (addr->u.sa.sa_family) {
    case AF_INET:
        if (len >= sizeof(struct sockaddr_in)) {
            char text[INET_ADDRSTRLEN];
            const STRLEN text_len = bsd_format_in4(&addr->u.in4.sin_addr, text);
            return newSVpvf("%.*s:%u", (int)text_len, text, (unsigned)ntohs(addr->u.in4.sin_port));
        }
        break;
    case AF_INET6:
        if (len >= sizeof(struct sockaddr_in6)) {
            char text[INET6_ADDRSTRLEN], scope[IF_NAMESIZE + 1];
            const uint32_t id = addr->u.in6.sin6_scope_id;
            inet_ntop(AF_INET6, &addr->u.in6.sin6_addr, text, sizeof text);
            scope[0] = '\0';
            if (id && !if_indextoname(id, scope + 1))
                my_snprintf(scope + 1, sizeof scope - 1, "%lu", (unsigned long)id);
            if (id)
                scope[0] = '%';
            return newSVpvf("[%s%s]:%u", text, scope, (unsigned)ntohs(addr->u.in6.sin6_port));
        }
        break;
    case AF_UNIX: {
        const char *const path = addr->u.un.sun_path;
        const STRLEN room = len - offsetof(struct sockaddr_un, sun_path);
        const bool abstract = room > 0 && path[0] == '\0';  /* (Linux): every byte counts */
        const STRLEN n = abstract ? room : strnlen(path, room);
        SV *text;
        STRLEN i;
        if (room == 0)
            return newSVpvs("an unnamed socket");
        text = newSVpvn("@", abstract ? 1 : 0);
        /* (a control byte, a NUL in an abstract name say, would break the
         * message's one line: \xNN instead) */
        for (i = abstract ? 1 : 0; i < n; i++) {
            const unsigned char ch = (unsigned char)path[i];
            if (ch < 0x20 || ch == 0x7f)
                sv_catpvf(text, "\\x%02x", ch);
            else
                sv_catpvn(text, path + i, 1);
        }
        return text;
    }
    }
    return newSVpvf("family %d", (int)addr->u.sa.sa_family);
}

/* As bsd_sockaddr_to_sv, for an address that tends to repeat (the peer
 * of recvfrom): *cache holds the last array made; while the address
 * stays the same, that array is handed out again. */
SV *
bsd_sockaddr_to_sv_cached(pTHX_ const bsd_addr *addr, int family, SV **cache)
{
    SV *rv;
    if (*cache) {
        const MAGIC *const mg = mg_findext(*cache, PERL_MAGIC_ext, &bsd_addr_vtbl);
        if (mg && (socklen_t)mg->mg_len == addr->len
            && memEQ(mg->mg_ptr, &addr->u, addr->len))
            return newRV_inc(*cache);
    }
    rv = bsd_sockaddr_to_sv(aTHX_ addr, family);
    if (SvROK(rv)) {                 /* an array (a path string is cheap anyway) */
        SvREFCNT_dec(*cache);
        *cache = SvREFCNT_inc_simple_NN(SvRV(rv));
    }
    return rv;
}
