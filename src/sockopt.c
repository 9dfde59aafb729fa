/*
 * sockopt.c - $sock->sockopt($name [, $value]): socket options by name,
 * with values in Perl form.
 *
 * The options whose value is a structure or a string are in the table
 * below, each with its form; every other SO_*, TCP_*, UDP_*, IP_* and
 * IPV6_* name the module has is an integer option at the level its prefix
 * says.  A number for the name is a SOL_SOCKET integer option (IO::Socket's
 * sockopt).  getsockopt and setsockopt keep their raw rules.
 */
#define PERL_NO_GET_CONTEXT
#include "EXTERN.h"
#include "perl.h"
#include "XSUB.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/time.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <net/if.h>

#include "bsdsocket.h"

#define BSD_OP "sockopt"
#define BSD_OPT_NAME_MAX 16     /* IF_NAMESIZE, TCP_CA_NAME_MAX */

typedef enum {
    BSD_OPT_INT,
    BSD_OPT_LINGER,         /* [$on, $seconds] */
    BSD_OPT_TIMEVAL,        /* seconds */
    BSD_OPT_STRING,         /* a name: a device, a congestion control */
    BSD_OPT_PEERCRED,       /* [$pid, $uid, $gid], read only */
    BSD_OPT_TCP_INFO,       /* a hash of named fields, read only */
    BSD_OPT_MEMBERSHIP,     /* [$group, $interface], set only */
    BSD_OPT_SOURCE_MEMBERSHIP, /* [$group, $source, $interface], set only */
    BSD_OPT_MEMBERSHIP6     /* [$group, $interface], set only */
} bsd_opt_kind;

/* The options with a form of their own.  One the platform lacks keeps
 * its place (have 0), so that it dies ENOSYS rather than being taken for
 * an integer option. */
typedef struct {
    const char  *name;
    bool         have;
    int          level, option;
    bsd_opt_kind kind;
} bsd_typed_opt;

#if defined(SO_PEERCRED) && defined(BSD_HAVE_LINUX_CMSG)
#  define BSD_PEERCRED 1, SOL_SOCKET, SO_PEERCRED
#else
#  define BSD_PEERCRED 0, 0, 0
#endif
#if defined(TCP_INFO) && defined(BSD_HAVE_LINUX_TCP_INFO)
#  define BSD_TCP_INFO 1, IPPROTO_TCP, TCP_INFO
#else
#  define BSD_TCP_INFO 0, 0, 0
#endif
#ifdef SO_BINDTODEVICE
#  define BSD_BINDTODEVICE 1, SOL_SOCKET, SO_BINDTODEVICE
#else
#  define BSD_BINDTODEVICE 0, 0, 0
#endif
#ifdef TCP_CONGESTION
#  define BSD_CONGESTION 1, IPPROTO_TCP, TCP_CONGESTION
#else
#  define BSD_CONGESTION 0, 0, 0
#endif

#ifdef IP_ADD_SOURCE_MEMBERSHIP
#  define BSD_ADD_SOURCE  1, IPPROTO_IP, IP_ADD_SOURCE_MEMBERSHIP
#  define BSD_DROP_SOURCE 1, IPPROTO_IP, IP_DROP_SOURCE_MEMBERSHIP
#else
#  define BSD_ADD_SOURCE  0, 0, 0
#  define BSD_DROP_SOURCE 0, 0, 0
#endif

static const bsd_typed_opt bsd_typed_opts[] = {
    { "SO_LINGER",       1, SOL_SOCKET, SO_LINGER,   BSD_OPT_LINGER },
    { "SO_RCVTIMEO",     1, SOL_SOCKET, SO_RCVTIMEO, BSD_OPT_TIMEVAL },
    { "SO_SNDTIMEO",     1, SOL_SOCKET, SO_SNDTIMEO, BSD_OPT_TIMEVAL },
    { "SO_BINDTODEVICE", BSD_BINDTODEVICE,           BSD_OPT_STRING },
    { "TCP_CONGESTION",  BSD_CONGESTION,             BSD_OPT_STRING },
    { "SO_PEERCRED",     BSD_PEERCRED,               BSD_OPT_PEERCRED },
    { "TCP_INFO",        BSD_TCP_INFO,               BSD_OPT_TCP_INFO },
    { "IP_ADD_MEMBERSHIP",  1, IPPROTO_IP, IP_ADD_MEMBERSHIP,  BSD_OPT_MEMBERSHIP },
    { "IP_DROP_MEMBERSHIP", 1, IPPROTO_IP, IP_DROP_MEMBERSHIP, BSD_OPT_MEMBERSHIP },
    { "IP_ADD_SOURCE_MEMBERSHIP",  BSD_ADD_SOURCE,  BSD_OPT_SOURCE_MEMBERSHIP },
    { "IP_DROP_SOURCE_MEMBERSHIP", BSD_DROP_SOURCE, BSD_OPT_SOURCE_MEMBERSHIP },
    { "IPV6_JOIN_GROUP",  1, IPPROTO_IPV6, IPV6_JOIN_GROUP,  BSD_OPT_MEMBERSHIP6 },
    { "IPV6_LEAVE_GROUP", 1, IPPROTO_IPV6, IPV6_LEAVE_GROUP, BSD_OPT_MEMBERSHIP6 },
#ifdef IPV6_ADD_MEMBERSHIP
    { "IPV6_ADD_MEMBERSHIP",  1, IPPROTO_IPV6, IPV6_ADD_MEMBERSHIP,  BSD_OPT_MEMBERSHIP6 },
    { "IPV6_DROP_MEMBERSHIP", 1, IPPROTO_IPV6, IPV6_DROP_MEMBERSHIP, BSD_OPT_MEMBERSHIP6 },
#endif
};

/* Names under the option prefixes that are values, not options. */
static const char *const bsd_not_options[] = {
    "IP_PMTUDISC_", "IPV6_PMTUDISC_", "IP_DEFAULT_", "IP_MAX_MEMBERSHIPS", "IP_MAXPACKET",
    "IPV6_RTHDR_LOOSE", "IPV6_RTHDR_STRICT", "IPV6_RTHDR_TYPE_0", "TCP_MAXWIN",
    "TCP_MAX_WINSHIFT", "TCP_MSS", "TCP_COOKIE_", "TCP_MD5SIG_FLAG_", "TCP_MD5SIG_MAXKEYLEN",
    "TCP_REPAIR_ON", "TCP_REPAIR_OFF", "TCP_S_DATA_", "UDP_ENCAP_",
};

static void S_die_unknown(pTHX_ SV *name_sv) __attribute__noreturn__;
static void
S_die_unknown(pTHX_ SV *name_sv)
{
    bsd_die_arg(aTHX_ BSD_OP, "unknown socket option %" SVf, SVfARG(bsd_describe(aTHX_ name_sv)));
}

static void S_die_missing(pTHX_ const char *name) __attribute__noreturn__;
static void
S_die_missing(pTHX_ const char *name)
{
    bsd_error e = BSD_ERROR(BSD_OP, ENOSYS);
    e.message = newSVpvf("%s is not available on this platform", name);
    bsd_throw(aTHX_ &e);
}

/* The level an integer option's name says. */
static bool
S_level_of(const char *name, int *level)
{
    static const struct { const char *prefix; int level; } prefixes[] = {
        { "SO_", SOL_SOCKET }, { "TCP_", IPPROTO_TCP }, { "UDP_", IPPROTO_UDP },
        { "IPV6_", IPPROTO_IPV6 }, { "IP_", IPPROTO_IP },
    };
    size_t i;
    for (i = 0; i < C_ARRAY_LENGTH(bsd_not_options); i++)
        if (strncmp(name, bsd_not_options[i], strlen(bsd_not_options[i])) == 0)
            return FALSE;
    for (i = 0; i < C_ARRAY_LENGTH(prefixes); i++)
        if (strncmp(name, prefixes[i].prefix, strlen(prefixes[i].prefix)) == 0) {
            *level = prefixes[i].level;
            return TRUE;
        }
    return FALSE;
}

/* What $name stands for: a typed option, or (typed NULL) an integer one. */
static const bsd_typed_opt *
S_lookup(pTHX_ SV *name_sv, int *level, int *option)
{
    const char *name;
    IV value;
    size_t i;
    IV number;
    bool known;
    SvGETMAGIC(name_sv);
    if (!SvROK(name_sv) && SvOK(name_sv)
        && (!SvPOK(name_sv) || (SvIOK(name_sv) && !SvNOK(name_sv)
                                && bsd_parse_iv(aTHX_ name_sv, 0, INT_MAX, &number) == BSD_INT_OK))) {
        /* a number: a SOL_SOCKET option, as IO::Socket has it (in the
         * table's form where it is one of the table's) */
        *level = SOL_SOCKET;
        *option = (int)bsd_iv_nomg(aTHX_ name_sv, 0, INT_MAX, "option", BSD_OP);
        for (i = 0; i < C_ARRAY_LENGTH(bsd_typed_opts); i++)
            if (bsd_typed_opts[i].have && bsd_typed_opts[i].level == SOL_SOCKET
                && bsd_typed_opts[i].option == *option)
                return &bsd_typed_opts[i];
        return NULL;
    }
    name = bsd_cstring_nomg(aTHX_ name_sv, "option name", BSD_OP, NULL);
    for (i = 0; i < C_ARRAY_LENGTH(bsd_typed_opts); i++)
        if (strEQ(name, bsd_typed_opts[i].name)) {
            if (!bsd_typed_opts[i].have)
                S_die_missing(aTHX_ name);
            *level = bsd_typed_opts[i].level;
            *option = bsd_typed_opts[i].option;
            return &bsd_typed_opts[i];
        }
    if (!S_level_of(name, level))
        S_die_unknown(aTHX_ name_sv);
    /* the module's constant of that name: its value, or (a constant the
     * platform lacks) ENOSYS */
    if (!bsd_constant_value(name, &value, &known)) {
        if (!known)
            S_die_unknown(aTHX_ name_sv);
        S_die_missing(aTHX_ name);
    }
    *option = (int)value;
    return NULL;
}

/* ------------------------------------------------------------- getting */

#if defined(TCP_INFO) && defined(BSD_HAVE_LINUX_TCP_INFO)
static SV *
S_tcp_info(pTHX_ const struct tcp_info *t)
{
    HV *const hv = newHV();
#define BSD_FIELD(field) (void)hv_stores(hv, #field, newSVuv((UV)t->tcpi_##field))
    BSD_FIELD(state);        BSD_FIELD(ca_state);     BSD_FIELD(retransmits);
    BSD_FIELD(probes);       BSD_FIELD(backoff);      BSD_FIELD(options);
    BSD_FIELD(snd_wscale);   BSD_FIELD(rcv_wscale);   BSD_FIELD(rto);
    BSD_FIELD(ato);          BSD_FIELD(snd_mss);      BSD_FIELD(rcv_mss);
    BSD_FIELD(unacked);      BSD_FIELD(sacked);       BSD_FIELD(lost);
    BSD_FIELD(retrans);      BSD_FIELD(fackets);      BSD_FIELD(last_data_sent);
    BSD_FIELD(last_ack_sent); BSD_FIELD(last_data_recv); BSD_FIELD(last_ack_recv);
    BSD_FIELD(pmtu);         BSD_FIELD(rcv_ssthresh); BSD_FIELD(rtt);
    BSD_FIELD(rttvar);       BSD_FIELD(snd_ssthresh); BSD_FIELD(snd_cwnd);
    BSD_FIELD(advmss);       BSD_FIELD(reordering);   BSD_FIELD(rcv_rtt);
    BSD_FIELD(rcv_space);    BSD_FIELD(total_retrans);
#undef BSD_FIELD
    return newRV_noinc(MUTABLE_SV(hv));
}
#endif

static SV *
S_get(pTHX_ bsd_sock *s, const bsd_typed_opt *t, int level, int option)
{
    union {
        int            i;
        struct linger  linger;
        struct timeval tv;
        char           name[IF_NAMESIZE > 64 ? IF_NAMESIZE + 1 : 65];
        struct { pid_t pid; uid_t uid; gid_t gid; } cred;
#if defined(TCP_INFO) && defined(BSD_HAVE_LINUX_TCP_INFO)
        struct tcp_info tcp;
#endif
    } v;
    socklen_t len = sizeof v;
    Zero(&v, 1, v);
    if (t && (t->kind == BSD_OPT_MEMBERSHIP || t->kind == BSD_OPT_SOURCE_MEMBERSHIP
              || t->kind == BSD_OPT_MEMBERSHIP6))
        bsd_die_arg(aTHX_ BSD_OP, "%s can only be set", t->name);
    if (getsockopt(s->fd, level, option, &v, &len) < 0)
        bsd_die_errno(aTHX_ BSD_OP, errno, NULL);
    switch (t ? t->kind : BSD_OPT_INT) {
    case BSD_OPT_LINGER: {
        AV *const av = newAV();
        av_push(av, newSViv(v.linger.l_onoff ? 1 : 0));
        av_push(av, newSViv(v.linger.l_linger));
        return newRV_noinc(MUTABLE_SV(av));
    }
    case BSD_OPT_TIMEVAL:
        return newSVnv((NV)v.tv.tv_sec + (NV)v.tv.tv_usec / 1e6);
    case BSD_OPT_STRING:
        v.name[len < sizeof v.name ? len : sizeof v.name - 1] = '\0';
        return newSVpv(v.name, 0);
    case BSD_OPT_PEERCRED: {
        AV *const av = newAV();
        av_push(av, newSViv((IV)v.cred.pid));
        av_push(av, newSVuv((UV)v.cred.uid));
        av_push(av, newSVuv((UV)v.cred.gid));
        return newRV_noinc(MUTABLE_SV(av));
    }
#if defined(TCP_INFO) && defined(BSD_HAVE_LINUX_TCP_INFO)
    case BSD_OPT_TCP_INFO:
        return S_tcp_info(aTHX_ &v.tcp);
#endif
    default:
        /* an int; one byte (some IP options on the BSDs); 64 bits
         * (SO_MAX_PACING_RATE, SO_COOKIE).  Anything else is a structure
         * this table does not know: never read as an int. */
        if (len == sizeof(int))
            return newSViv(v.i);
        if (len == 1)
            return newSVuv((unsigned char)v.name[0]);
        if (len == sizeof(uint64_t)) {
            uint64_t wide;
            Copy(&v, &wide, 1, uint64_t);
            return wide <= (uint64_t)UV_MAX ? newSVuv((UV)wide) : newSVnv((NV)wide);
        }
        bsd_die_arg(aTHX_ BSD_OP, "option %d at level %d is a %u-byte structure, not an integer: "
                    "read it with getsockopt", option, level, (unsigned)len);
    }
}

/* ------------------------------------------------------------- setting */

/* The parts of a membership's array: n of them, the last (the
 * interface) optional. */
static SV **
S_membership_parts(pTHX_ SV *value, const char *name, SSize_t n, const char *shape)
{
    AV *av;
    SSize_t count;
    SvGETMAGIC(value);
    if (!SvROK(value) || SvTYPE(SvRV(value)) != SVt_PVAV
        || (count = (SSize_t)av_count(av = MUTABLE_AV(SvRV(value)))) < n - 1 || count > n)
        bsd_die_arg(aTHX_ BSD_OP, "%s takes %s, got %" SVf, name, shape,
                    SVfARG(bsd_describe(aTHX_ value)));
    /* held: reading an element may run code (a tied FETCH) that frees it */
    sv_2mortal(SvREFCNT_inc_simple_NN(MUTABLE_SV(av)));
    {
        SV **const parts = (SV **)bsd_scratch(aTHX_ (size_t)n, sizeof(SV *), BSD_OP);
        SSize_t i;
        for (i = 0; i < n; i++) {
            SV **const elem = i < count ? av_fetch(av, i, FALSE) : NULL;
            /* (held: reading one may run code that changes the array) */
            parts[i] = elem ? sv_2mortal(newSVsv(*elem)) : &PL_sv_undef;
        }
        return parts;
    }
}

/* A group or source: a numeric address of the family, never a name. */
static void
S_numeric(pTHX_ SV *sv, int family, void *out, const char *what, const char *name)
{
    SvGETMAGIC(sv);
    if (inet_pton(family, bsd_cstring_nomg(aTHX_ sv, what, BSD_OP, NULL), out) != 1)
        bsd_die_arg(aTHX_ BSD_OP, "%s: the %s must be an %s address, got %" SVf, name, what,
                    family == AF_INET ? "IPv4" : "IPv6", SVfARG(bsd_describe(aTHX_ sv)));
}

/* The interface of a membership: undef (the kernel picks), an index (an
 * integer), an IPv4 address (where `by_address`), or a name. */
static bool
S_interface(pTHX_ SV *sv, bool by_address, struct in_addr *address, unsigned *index,
            const char *name)
{
    UV number;
    address->s_addr = htonl(INADDR_ANY);
    *index = 0;
    SvGETMAGIC(sv);
    if (!SvOK(sv) && !SvROK(sv))
        return FALSE;
    if (bsd_parse_uv(aTHX_ sv, 0xffffffffU, &number) == BSD_INT_OK) {
        *index = (unsigned)number;
        return TRUE;
    }
    if (by_address && SvPOK(sv)
        && inet_pton(AF_INET, bsd_cstring_nomg(aTHX_ sv, "interface", BSD_OP, NULL), address) == 1)
        return FALSE;
    if (!SvPOK(sv) && !SvROK(sv))
        bsd_die_arg(aTHX_ BSD_OP, "%s: the interface is an address, a name or an index, got %" SVf,
                    name, SVfARG(bsd_describe(aTHX_ sv)));
    *index = (unsigned)bsd_if_nametoindex(aTHX_ sv, BSD_OP);
    return TRUE;
}

/* An IPv4 membership given by interface index (or name): RFC 3678's
 * group_req, which Linux, FreeBSD, NetBSD and macOS take (OpenBSD has no
 * such call: there the interface goes by its address). */
static void
S_group_req(pTHX_ bsd_sock *s, int option, unsigned index, const struct in_addr *group,
            const struct in_addr *source, const char *name)
{
#if defined(MCAST_JOIN_GROUP) && defined(MCAST_JOIN_SOURCE_GROUP)
    struct group_source_req req;
    struct group_req plain;
    bsd_addr g, src;
    int mcast;
    PERL_UNUSED_ARG(name);          /* (for the message where there is no such call) */
    Zero(&g, 1, bsd_addr);
    g.u.in4.sin_family = AF_INET;
    g.u.in4.sin_addr = *group;
    g.len = sizeof g.u.in4;
    bsd_addr_set_sa_len(&g);
    if (!source) {
        Zero(&plain, 1, struct group_req);
        plain.gr_interface = index;
        Copy(&g.u.in4, &plain.gr_group, 1, struct sockaddr_in);
        mcast = option == IP_ADD_MEMBERSHIP ? MCAST_JOIN_GROUP : MCAST_LEAVE_GROUP;
        if (setsockopt(s->fd, IPPROTO_IP, mcast, &plain, sizeof plain) < 0)
            bsd_die_errno(aTHX_ BSD_OP, errno, NULL);
        return;
    }
    src = g;
    src.u.in4.sin_addr = *source;
    Zero(&req, 1, struct group_source_req);
    req.gsr_interface = index;
    Copy(&g.u.in4, &req.gsr_group, 1, struct sockaddr_in);
    Copy(&src.u.in4, &req.gsr_source, 1, struct sockaddr_in);
#  ifdef IP_ADD_SOURCE_MEMBERSHIP
    mcast = option == IP_ADD_SOURCE_MEMBERSHIP ? MCAST_JOIN_SOURCE_GROUP : MCAST_LEAVE_SOURCE_GROUP;
#  else
    mcast = MCAST_JOIN_SOURCE_GROUP;
#  endif
    if (setsockopt(s->fd, IPPROTO_IP, mcast, &req, sizeof req) < 0)
        bsd_die_errno(aTHX_ BSD_OP, errno, NULL);
#else
    PERL_UNUSED_ARG(s); PERL_UNUSED_ARG(option); PERL_UNUSED_ARG(index);
    PERL_UNUSED_ARG(group); PERL_UNUSED_ARG(source);
    bsd_die_arg(aTHX_ BSD_OP, "%s: an interface by name or index needs MCAST_JOIN_GROUP, "
                "which this platform lacks: give its address", name);
#endif
}

static void
S_set_membership(pTHX_ bsd_sock *s, const bsd_typed_opt *t, int level, int option, SV *value)
{
    const bool with_source = t->kind == BSD_OPT_SOURCE_MEMBERSHIP;
    SV **const parts = with_source
        ? S_membership_parts(aTHX_ value, t->name, 3, "[$group, $source, $interface]")
        : S_membership_parts(aTHX_ value, t->name, 2, "[$group, $interface]");
    if (t->kind == BSD_OPT_MEMBERSHIP6) {
        struct ipv6_mreq m;
        struct in_addr unused;
        unsigned index;
        Zero(&m, 1, struct ipv6_mreq);
        S_numeric(aTHX_ parts[0], AF_INET6, &m.ipv6mr_multiaddr, "group", t->name);
        (void)S_interface(aTHX_ parts[1], FALSE, &unused, &index, t->name);
        m.ipv6mr_interface = index;
        if (setsockopt(s->fd, level, option, &m, sizeof m) < 0)
            bsd_die_errno(aTHX_ BSD_OP, errno, NULL);
        return;
    }
    {
        struct in_addr group, source, address;
        unsigned index;
        S_numeric(aTHX_ parts[0], AF_INET, &group, "group", t->name);
        if (with_source)
            S_numeric(aTHX_ parts[1], AF_INET, &source, "source", t->name);
        if (S_interface(aTHX_ parts[with_source ? 2 : 1], TRUE, &address, &index, t->name)) {
            S_group_req(aTHX_ s, option, index, &group, with_source ? &source : NULL, t->name);
            return;
        }
        if (with_source) {
#ifdef IP_ADD_SOURCE_MEMBERSHIP
            struct ip_mreq_source m;
            Zero(&m, 1, struct ip_mreq_source);
            m.imr_multiaddr = group;
            m.imr_sourceaddr = source;
            m.imr_interface = address;
            if (setsockopt(s->fd, level, option, &m, sizeof m) < 0)
                bsd_die_errno(aTHX_ BSD_OP, errno, NULL);
#endif
        }
        else {
            struct ip_mreq m;
            Zero(&m, 1, struct ip_mreq);
            m.imr_multiaddr = group;
            m.imr_interface = address;
            if (setsockopt(s->fd, level, option, &m, sizeof m) < 0)
                bsd_die_errno(aTHX_ BSD_OP, errno, NULL);
        }
    }
}

static void
S_set(pTHX_ bsd_sock *s, const bsd_typed_opt *t, int level, int option, SV *value)
{
    union {
        int            i;
        struct linger  linger;
        struct timeval tv;
    } v;
    const void *buf = &v;
    socklen_t len;
    const char *name = t ? t->name : "option";
    Zero(&v, 1, v);
    switch (t ? t->kind : BSD_OPT_INT) {
    case BSD_OPT_LINGER: {
        AV *av;
        SvGETMAGIC(value);
        if (!SvROK(value) || SvTYPE(SvRV(value)) != SVt_PVAV
            || av_count(av = MUTABLE_AV(SvRV(value))) != 2)
            bsd_die_arg(aTHX_ BSD_OP, "SO_LINGER takes [$on, $seconds], got %" SVf,
                        SVfARG(bsd_describe(aTHX_ value)));
        {
            /* both elements first, held, and then read: a tied one's FETCH
             * may free the array */
            SV *on, *seconds;
            sv_2mortal(SvREFCNT_inc_simple_NN(MUTABLE_SV(av)));
            on = sv_2mortal(newSVsv(*av_fetch(av, 0, TRUE)));
            seconds = sv_2mortal(newSVsv(*av_fetch(av, 1, TRUE)));
            v.linger.l_onoff = bsd_sv_to_bool(aTHX_ on) ? 1 : 0;
            v.linger.l_linger = (int)bsd_sv_to_iv(aTHX_ seconds, 0, INT_MAX,
                                                  "SO_LINGER seconds", BSD_OP);
        }
        len = sizeof v.linger;
        break;
    }
    case BSD_OPT_TIMEVAL: {
        /* (undef or 0: no timeout) */
        double seconds = bsd_sv_to_timeout(aTHX_ value, BSD_OP);
        if (seconds < 0)
            seconds = 0;
        if (seconds > (double)INT_MAX)
            bsd_die_arg(aTHX_ BSD_OP, "%s is at most %d seconds", name, INT_MAX);
        v.tv.tv_sec = (time_t)seconds;
        v.tv.tv_usec = (suseconds_t)((seconds - (double)v.tv.tv_sec) * 1e6);
        if (seconds > 0 && v.tv.tv_sec == 0 && v.tv.tv_usec == 0)
            v.tv.tv_usec = 1;       /* (a zero timeval would mean none at all) */
        len = sizeof v.tv;
        break;
    }
    case BSD_OPT_STRING: {
        STRLEN n;
        SvGETMAGIC(value);
        buf = bsd_cstring_nomg(aTHX_ value, name, BSD_OP, NULL);
        n = strlen((const char *)buf);
        /* (never cut short: it would name another device or algorithm;
         * both kinds of name have 16 bytes with their NUL on Linux) */
        if (n >= BSD_OPT_NAME_MAX)
            bsd_die_arg(aTHX_ BSD_OP, "%s is at most %d bytes, got %" SVf, name,
                        BSD_OPT_NAME_MAX - 1, SVfARG(bsd_describe(aTHX_ value)));
        len = (socklen_t)n;
        break;
    }
    case BSD_OPT_PEERCRED:
    case BSD_OPT_TCP_INFO:
        bsd_die_arg(aTHX_ BSD_OP, "%s can only be read", name);
    case BSD_OPT_MEMBERSHIP:
    case BSD_OPT_SOURCE_MEMBERSHIP:
    case BSD_OPT_MEMBERSHIP6:
        S_set_membership(aTHX_ s, t, level, option, value);
        bsd_sock_options_changed(s);
        return;
    default:
        SvGETMAGIC(value);
        v.i = (int)bsd_iv_nomg(aTHX_ value, INT_MIN, INT_MAX, "option value", BSD_OP);
        len = sizeof v.i;
        break;
    }
    if (setsockopt(s->fd, level, option, buf, len) < 0)
        bsd_die_errno(aTHX_ BSD_OP, errno, NULL);
    bsd_sock_options_changed(s);
}

/* sockopt($name): the value (mortal); sockopt($name, $value): sets it,
 * returns NULL. */
SV *
bsd_sock_sockopt(pTHX_ bsd_sock *s, SV *name, SV *value)
{
    int level, option;
    const bsd_typed_opt *const t = S_lookup(aTHX_ name, &level, &option);
    if (!value)
        return sv_2mortal(S_get(aTHX_ s, t, level, option));
    S_set(aTHX_ s, t, level, option, value);
    return NULL;
}
