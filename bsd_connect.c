/*
 * bsd_connect.c - create_connection: resolve a host, then connect to the
 * first of its addresses that answers (SPEC 7, Convenience).
 *
 * With several addresses, the attempts race as Happy Eyeballs v2 (RFC
 * 8305) describes: the addresses are interleaved by family (the first
 * family getaddrinfo preferred, then the other, and so on), an attempt
 * starts, the next starts when that one fails or after the Connection
 * Attempt Delay (250 ms) without an answer, earlier attempts keep
 * running, and the first to connect wins.  One deadline covers the whole
 * call.  When every attempt fails, the error lists each address and why.
 *
 * Each attempt's socket is a mortal BSDSocket object from the start, so a
 * die (a signal handler's, say) closes whatever was open.
 */
#define PERL_NO_GET_CONTEXT
#include "EXTERN.h"
#include "perl.h"
#include "XSUB.h"

#include <errno.h>
#include <netdb.h>
#include <string.h>
#include <unistd.h>

#include "bsdsocket.h"

/* RFC 8305, section 5: the recommended Connection Attempt Delay */
#define BSD_ATTEMPT_DELAY 0.25

typedef struct {
    bsd_addr  addr;
    int       family, type, proto;
    SV       *obj;      /* the attempt's socket object (mortal), once started */
    bsd_sock *sock;
    int       err;      /* 0: not started or still connecting */
    bool      done;     /* failed, one way or another */
} bsd_attempt;

/* "127.0.0.1 port 80" / "::1 port 80", for the error message */
static SV *
S_describe_addr(pTHX_ const bsd_addr *addr)
{
    char host[NI_MAXHOST], port[NI_MAXSERV];
    if (getnameinfo(&addr->u.sa, addr->len, host, sizeof host, port, sizeof port,
                    NI_NUMERICHOST | NI_NUMERICSERV) != 0)
        return sv_2mortal(newSVpvs("an address"));
    return sv_2mortal(newSVpvf("%s port %s", host, port));
}

/* RFC 8305, section 4: interleave the families, starting with the one
 * getaddrinfo put first (its order already follows RFC 6724). */
static void
S_interleave(bsd_attempt *list, int n)
{
    int i;
    for (i = 1; i < n; i++) {
        const int want = list[i - 1].family;
        int j;
        if (list[i].family != want)
            continue;
        for (j = i + 1; j < n && list[j].family == want; j++)
            ;
        if (j < n) {                   /* bring the other family forward */
            const bsd_attempt other = list[j];
            Move(list + i, list + i + 1, j - i, bsd_attempt);
            list[i] = other;
        }
    }
}

/* Start attempt a: a non-blocking socket (bound to source, if any),
 * connecting.  Returns TRUE if it connected at once. */
static bool
S_start(pTHX_ bsd_attempt *a, const bsd_addr *source)
{
    int fd;
    a->obj = bsd_sock_new(aTHX_ gv_stashpvs(BSD_SOCKET_CLASS, GV_ADD), &a->sock);
    fd = socket(a->family, a->type | SOCK_CLOEXEC | SOCK_NONBLOCK, a->proto);
    if (fd < 0) {
        a->err = errno;
        a->done = TRUE;
        return FALSE;
    }
    a->sock->fd = fd;
    a->sock->family = a->family;
    a->sock->type = a->type;
    a->sock->proto = a->proto;
    a->sock->timeout = 0.0;
    if (source) {
        /* the source address, for the attempts of its family; the others
         * fail (as a bind would), so a dual-stack host still gets a try */
        if (source->u.sa.sa_family != a->family) {
            a->err = EAFNOSUPPORT;
            a->done = TRUE;
            return FALSE;
        }
        if (bind(fd, &source->u.sa, source->len) < 0) {
            a->err = errno;
            a->done = TRUE;
            return FALSE;
        }
    }
    if (connect(fd, &a->addr.u.sa, a->addr.len) == 0)
        return TRUE;
    if (errno != EINPROGRESS) {
        a->err = errno;
        a->done = TRUE;
    }
    return FALSE;
}

/* A pending attempt's socket is writable: connected, or failed? */
static bool
S_finished(pTHX_ bsd_attempt *a)
{
    int err = 0;
    socklen_t len = sizeof err;
    if (getsockopt(a->sock->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
        err = errno;
    if (err == 0) {
        bsd_addr peer;
        peer.len = sizeof peer.u;
        if (getpeername(a->sock->fd, &peer.u.sa, &peer.len) == 0)
            return TRUE;
        err = errno;
    }
    a->err = err;
    a->done = TRUE;
    bsd_sock_close(aTHX_ a->sock);
    return FALSE;
}

static void S_die_all_failed(pTHX_ bsd_attempt *list, int n, bool timed_out)
    __attribute__noreturn__;
static void
S_die_all_failed(pTHX_ bsd_attempt *list, int n, bool timed_out)
{
    AV *const attempts = newAV();
    SV *const why = sv_2mortal(newSVpvs(""));
    int i, last_err = ETIMEDOUT;
    for (i = 0; i < n; i++) {
        const bsd_attempt *const a = &list[i];
        AV *entry;
        SV *reason;
        if (!a->obj)
            continue;                  /* never started: the time ran out first */
        entry = newAV();
        reason = a->err ? bsd_errno_message(aTHX_ a->err) : newSVpvs("timed out");
        av_push(entry, bsd_sockaddr_to_sv(aTHX_ &a->addr));
        av_push(entry, newSViv(a->err ? a->err : ETIMEDOUT));
        av_push(entry, reason);
        av_push(attempts, newRV_noinc(MUTABLE_SV(entry)));
        sv_catpvf(why, "%s%" SVf ": %" SVf, SvCUR(why) ? "; " : "",
                  SVfARG(S_describe_addr(aTHX_ &a->addr)), SVfARG(reason));
        if (a->err)
            last_err = a->err;
    }
    if (timed_out)
        bsd_throw(aTHX_ "BSDSocket::Error::Timeout", "create_connection", 1, ETIMEDOUT,
                  newSVpvs("timed out"), NULL, NULL, newRV_noinc(MUTABLE_SV(attempts)));
    bsd_throw(aTHX_ BSD_ERROR_CLASS, "create_connection", 1, last_err,
              newSVpvf("no address answered: %" SVf, SVfARG(why)), NULL, NULL,
              newRV_noinc(MUTABLE_SV(attempts)));
}

/* create_connection([$host, $port], $timeout, $source_address).  timeout
 * < 0: blocking (no deadline); the connected socket gets that timeout. */
SV *
bsd_create_connection(pTHX_ SV *address, double timeout, SV *source_sv)
{
    bsd_addr source_addr;
    const bsd_addr *source = NULL;
    const char *op = "create_connection";
    struct addrinfo hints, *res = NULL, *ai;
    const char *host, *service;
    bsd_attempt *list;
    struct pollfd *pfds;
    int n = 0, next = 0, i, rc;
    double deadline = 0, next_start;

    SvGETMAGIC(address);
    if (!SvROK(address) || SvTYPE(SvRV(address)) != SVt_PVAV
        || av_count(MUTABLE_AV(SvRV(address))) != 2)
        bsd_die_arg(aTHX_ op, "address must be [host, port], got %" SVf,
                    SVfARG(bsd_describe(aTHX_ address)));
    {
        SV **const hostp = av_fetch(MUTABLE_AV(SvRV(address)), 0, 0);
        SV **const portp = av_fetch(MUTABLE_AV(SvRV(address)), 1, 0);
        SV *const host_sv = hostp ? *hostp : &PL_sv_undef;
        STRLEN len;
        SvGETMAGIC(host_sv);
        if (!bsd_is_stringish(aTHX_ host_sv) || !(host = bsd_bytes_nomg(aTHX_ host_sv, &len)))
            bsd_die_arg(aTHX_ op, "host must be a string, got %" SVf,
                        SVfARG(bsd_describe(aTHX_ host_sv)));
        if (memchr(host, '\0', len))
            bsd_die_arg(aTHX_ op, "NUL character inside host name %" SVf,
                        SVfARG(bsd_describe(aTHX_ host_sv)));
        host = SvPVX(sv_2mortal(newSVpvn(host, len)));
        service = bsd_service_arg(aTHX_ portp ? *portp : &PL_sv_undef, op);
        if (!service)
            bsd_die_arg(aTHX_ op, "port must be an integer in 0..65535 or a service name, got undef");
    }
    if (source_sv) {
        SvGETMAGIC(source_sv);
        if (SvOK(source_sv) || SvROK(source_sv)) {
            if (!SvROK(source_sv) || SvTYPE(SvRV(source_sv)) != SVt_PVAV)
                bsd_die_arg(aTHX_ op, "source address must be [host, port], got %" SVf,
                            SVfARG(bsd_describe(aTHX_ source_sv)));
            /* an IPv4 or an IPv6 address, whichever it is: converted once */
            bsd_sockaddr_from_sv_nomg(aTHX_ AF_UNSPEC, source_sv, &source_addr, 0);
            source = &source_addr;
        }
    }

    Zero(&hints, 1, struct addrinfo);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    rc = getaddrinfo(*host ? host : NULL, service, &hints, &res);
    if (rc != 0) {
        const int err = errno;
        bsd_die_gai(aTHX_ op, rc, err, address,
                    sv_2mortal(newSVpvf("cannot resolve host '%s'", host)));
    }
    for (ai = res; ai; ai = ai->ai_next)
        n++;
    Newxz(list, n, bsd_attempt);
    SAVEFREEPV(list);
    Newx(pfds, n, struct pollfd);
    SAVEFREEPV(pfds);
    for (ai = res, i = 0; ai; ai = ai->ai_next, i++) {
        bsd_addr_from_ai(ai, &list[i].addr);
        list[i].family = ai->ai_family;
        list[i].type = ai->ai_socktype;
        list[i].proto = ai->ai_protocol;
    }
    freeaddrinfo(res);
    S_interleave(list, n);

    if (timeout >= 0)
        deadline = bsd_now() + timeout;
    next_start = 0;                    /* the first attempt starts now */

    for (;;) {
        int pending = 0, ready;
        double wake;
        /* start the next attempt when its turn has come */
        while (next < n && bsd_now() >= next_start) {
            bsd_attempt *const a = &list[next++];
            if (S_start(aTHX_ a, source))
                goto connected_first;
            /* a failure right away lets the next one go at once */
            next_start = a->done ? 0 : bsd_now() + BSD_ATTEMPT_DELAY;
        }
        for (i = 0; i < next; i++)
            if (list[i].obj && !list[i].done) {
                pfds[pending].fd = list[i].sock->fd;
                pfds[pending].events = POLLOUT;
                pfds[pending].revents = 0;
                pending++;
            }
        if (!pending && next == n)
            S_die_all_failed(aTHX_ list, n, FALSE);
        if (deadline > 0 && bsd_now() >= deadline)
            S_die_all_failed(aTHX_ list, n, TRUE);
        /* wake for the deadline, or for the next attempt's turn */
        wake = deadline;
        if (next < n && (wake == 0 || next_start < wake))
            wake = next_start;
        ready = pending ? bsd_poll_wait(aTHX_ pfds, (nfds_t)pending, wake, NULL, op) : 0;
        if (!ready)
            continue;                  /* a deadline or a turn: loop decides */
        for (i = 0; i < next; i++) {
            bsd_attempt *const a = &list[i];
            nfds_t j;
            if (!a->obj || a->done)
                continue;
            for (j = 0; j < (nfds_t)pending; j++)
                if (pfds[j].fd == a->sock->fd && pfds[j].revents)
                    break;
            if (j == (nfds_t)pending)
                continue;
            if (S_finished(aTHX_ a)) {
                next = i;
                goto connected;
            }
            next_start = 0;            /* failed: the next one goes now */
        }
    }

  connected_first:
    next--;
  connected:
    {
        bsd_attempt *const won = &list[next];
        for (i = 0; i < n; i++)        /* the losers close now, not at FREETMPS */
            if (i != next && list[i].obj)
                bsd_sock_close(aTHX_ list[i].sock);
        if (timeout < 0 && bsd_set_fd_nonblocking(won->sock->fd, FALSE) < 0)
            bsd_die_errno(aTHX_ op, errno, NULL);
        won->sock->timeout = timeout;
        return won->obj;
    }
}
