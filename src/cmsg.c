/*
 * cmsg.c - decode_cmsg: the Perl value of a control message that
 * recvmsg handed back as [$level, $type, $data].
 *
 * Every decoder checks the length first: a payload shorter or longer than
 * its struct (or, for fds, not a whole number of ints) dies EINVAL, and
 * nothing is read past it.  The bytes are copied into an aligned struct
 * before they are read (the data of a Perl string need not be aligned).
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
#include <time.h>

#include "bsdsocket.h"

#define BSD_DECODE "decode_cmsg"

/* A payload of the wrong length for its message. */
static void S_die_length(pTHX_ const char *what, STRLEN got, const char *want)
    __attribute__noreturn__;
static void
S_die_length(pTHX_ const char *what, STRLEN got, const char *want)
{
    bsd_die_arg(aTHX_ BSD_DECODE, "%s data must be %s, got %" UVuf " bytes", what, want, (UV)got);
}

static void
S_want_length(pTHX_ const char *what, STRLEN got, STRLEN want)
{
    if (got != want) {
        char text[32];
        my_snprintf(text, sizeof text, "%" UVuf " bytes", (UV)want);
        S_die_length(aTHX_ what, got, text);
    }
}

static SV *
S_array(pTHX_ SV **elems, SSize_t n)
{
    AV *const av = av_make(n, elems);
    SSize_t i;
    for (i = 0; i < n; i++)
        SvREFCNT_dec(elems[i]);     /* (av_make copied them) */
    return newRV_noinc(MUTABLE_SV(av));
}

static SV *
S_in4_text(pTHX_ const struct in_addr *a)
{
    char text[INET_ADDRSTRLEN];
    return newSVpvn(text, bsd_format_in4(a, text));
}

/* SOL_SOCKET: fds, credentials, timestamps. */
static SV *
S_socket_level(pTHX_ int type, const char *data, STRLEN len)
{
    if (type == SCM_RIGHTS) {
        AV *fds;
        STRLEN i;
        if (len % sizeof(int))
            S_die_length(aTHX_ "SCM_RIGHTS", len, "a whole number of ints");
        fds = newAV();
        for (i = 0; i < len / sizeof(int); i++) {
            int fd;
            Copy(data + i * sizeof(int), &fd, 1, int);
            av_push(fds, newSViv(fd));
        }
        return newRV_noinc(MUTABLE_SV(fds));
    }
#ifdef SCM_CREDENTIALS
    if (type == SCM_CREDENTIALS) {      /* Linux's struct ucred: pid, uid, gid */
        struct { pid_t pid; uid_t uid; gid_t gid; } cred;
        SV *elems[3];
        S_want_length(aTHX_ "SCM_CREDENTIALS", len, sizeof cred);
        Copy(data, &cred, sizeof cred, char);
        elems[0] = newSViv((IV)cred.pid);
        elems[1] = newSVuv((UV)cred.uid);
        elems[2] = newSVuv((UV)cred.gid);
        return S_array(aTHX_ elems, 3);
    }
#endif
#ifdef SCM_TIMESTAMP
    if (type == SCM_TIMESTAMP) {
        struct timeval tv;
        S_want_length(aTHX_ "SCM_TIMESTAMP", len, sizeof tv);
        Copy(data, &tv, 1, struct timeval);
        return newSVnv((NV)tv.tv_sec + (NV)tv.tv_usec / 1e6);
    }
#endif
#ifdef SCM_TIMESTAMPNS
    if (type == SCM_TIMESTAMPNS) {
        struct timespec ts;
        S_want_length(aTHX_ "SCM_TIMESTAMPNS", len, sizeof ts);
        Copy(data, &ts, 1, struct timespec);
        return newSVnv((NV)ts.tv_sec + (NV)ts.tv_nsec / 1e9);
    }
#endif
    PERL_UNUSED_ARG(data);
    return NULL;
}

/* An integer the kernel gives as an int (Linux) or a byte (the BSDs'
 * IP_RECVTTL). */
static SV *
S_small_int(pTHX_ const char *what, const char *data, STRLEN len)
{
    if (len == sizeof(int)) {
        int value;
        Copy(data, &value, 1, int);
        return newSViv(value);
    }
    if (len == 1)
        return newSVuv((unsigned char)data[0]);
    S_die_length(aTHX_ what, len, "an int or one byte");
}

#ifdef BSD_HAVE_LINUX_CMSG
/* IP_RECVERR and IPV6_RECVERR: Linux's struct sock_extended_err, then the
 * address of whoever reported the error (AF_UNSPEC when nobody did). */
struct bsd_extended_err {
    uint32_t ee_errno;
    uint8_t  ee_origin, ee_type, ee_code, ee_pad;
    uint32_t ee_info;
    uint32_t ee_data;
};

static SV *
S_extended_err(pTHX_ const char *what, const char *data, STRLEN len)
{
    struct bsd_extended_err ee;
    HV *hv;
    SV *offender = &PL_sv_undef;
    if (len < sizeof ee)
        S_die_length(aTHX_ what, len, "at least 16 bytes");
    Copy(data, &ee, 1, struct bsd_extended_err);
    if (len > sizeof ee) {
        bsd_addr from;
        Zero(&from, 1, bsd_addr);
        from.len = (socklen_t)(len - sizeof ee < sizeof from.u ? len - sizeof ee : sizeof from.u);
        Copy(data + sizeof ee, &from.u, from.len, char);
        if (from.len >= sizeof from.u.sa.sa_family && from.u.sa.sa_family != AF_UNSPEC)
            offender = sv_2mortal(bsd_sockaddr_to_sv(aTHX_ &from, from.u.sa.sa_family));
    }
    hv = newHV();
    (void)hv_stores(hv, "errno", newSVuv(ee.ee_errno));
    (void)hv_stores(hv, "origin", newSVuv(ee.ee_origin));
    (void)hv_stores(hv, "type", newSVuv(ee.ee_type));
    (void)hv_stores(hv, "code", newSVuv(ee.ee_code));
    (void)hv_stores(hv, "info", newSVuv(ee.ee_info));
    (void)hv_stores(hv, "data", newSVuv(ee.ee_data));
    (void)hv_stores(hv, "offender", newSVsv(offender));
    return newRV_noinc(MUTABLE_SV(hv));
}
#endif

/* IPPROTO_IP: PKTINFO, TTL, RECVERR. */
static SV *
S_ip_level(pTHX_ int type, const char *data, STRLEN len)
{
#ifdef IP_PKTINFO
    if (type == IP_PKTINFO) {
        struct in_pktinfo pi;
        SV *elems[3];
        S_want_length(aTHX_ "IP_PKTINFO", len, sizeof pi);
        Copy(data, &pi, 1, struct in_pktinfo);
        elems[0] = newSViv(pi.ipi_ifindex);
        elems[1] = S_in4_text(aTHX_ &pi.ipi_spec_dst);
        elems[2] = S_in4_text(aTHX_ &pi.ipi_addr);
        return S_array(aTHX_ elems, 3);
    }
#endif
#ifdef IP_TTL
    if (type == IP_TTL)
        return S_small_int(aTHX_ "IP_TTL", data, len);
#endif
#ifdef IP_RECVTTL
    if (type == IP_RECVTTL)            /* (the BSDs name the message so) */
        return S_small_int(aTHX_ "IP_RECVTTL", data, len);
#endif
#ifdef BSD_HAVE_LINUX_CMSG
    if (type == IP_RECVERR)
        return S_extended_err(aTHX_ "IP_RECVERR", data, len);
#endif
    PERL_UNUSED_ARG(data);
    PERL_UNUSED_ARG(len);
    return NULL;
}

/* IPPROTO_IPV6: PKTINFO, HOPLIMIT, RECVERR. */
static SV *
S_ipv6_level(pTHX_ int type, const char *data, STRLEN len)
{
#ifdef IPV6_PKTINFO
    if (type == IPV6_PKTINFO) {
        struct in6_pktinfo pi;
        char text[INET6_ADDRSTRLEN];
        SV *elems[2];
        S_want_length(aTHX_ "IPV6_PKTINFO", len, sizeof pi);
        Copy(data, &pi, 1, struct in6_pktinfo);
        inet_ntop(AF_INET6, &pi.ipi6_addr, text, sizeof text);
        elems[0] = newSVpv(text, 0);
        elems[1] = newSVuv(pi.ipi6_ifindex);
        return S_array(aTHX_ elems, 2);
    }
#endif
#ifdef IPV6_HOPLIMIT
    if (type == IPV6_HOPLIMIT)
        return S_small_int(aTHX_ "IPV6_HOPLIMIT", data, len);
#endif
#ifdef BSD_HAVE_LINUX_CMSG
    if (type == IPV6_RECVERR)
        return S_extended_err(aTHX_ "IPV6_RECVERR", data, len);
#endif
    PERL_UNUSED_ARG(data);
    PERL_UNUSED_ARG(len);
    return NULL;
}

SV *
bsd_decode_cmsg(pTHX_ int level, int type, SV *data_sv)
{
    STRLEN len;
    const char *const data = bsd_sv_to_bytes(aTHX_ data_sv, &len, "data", BSD_DECODE);
    SV *value = NULL;
    if (level == SOL_SOCKET)
        value = S_socket_level(aTHX_ type, data, len);
    else if (level == IPPROTO_IP)
        value = S_ip_level(aTHX_ type, data, len);
    else if (level == IPPROTO_IPV6)
        value = S_ipv6_level(aTHX_ type, data, len);
    if (!value) {
        bsd_error e = BSD_ERROR(BSD_DECODE, ENOPROTOOPT);
        e.message = newSVpvf("no decoder for the control message of level %d, type %d",
                             level, type);
        bsd_throw(aTHX_ &e);
    }
    return sv_2mortal(value);
}
