/*
 * connect.c - create_connection: resolve a host, then connect to the
 * first of its addresses that answers.
 *
 * With several addresses, the attempts race as Happy Eyeballs v2 (RFC
 * 8305) describes: the addresses are interleaved by family (the first
 * family getaddrinfo preferred, then the other, and so on), an attempt
 * starts, the next starts when that one fails or after the Connection
 * Attempt Delay (250 ms) without an answer, earlier attempts keep
 * running, and the first to connect wins.  One deadline covers the whole
 * call.  When every attempt fails, the error lists each address and why.
 * The race is one call through the driver (call.c): its attempt starts
 * what is due and reads what finished, and says EINPROGRESS to wait for
 * the pending sockets until the next start is due.
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
    fd = bsd_socket(a->family, a->type, a->proto, TRUE);
    if (fd < 0) {
        a->err = errno;
        a->done = TRUE;
        return FALSE;
    }
    bsd_sock_take_fd(a->sock, fd);
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
    const int err = bsd_connect_outcome(a->sock->fd);
    if (err == 0)
        return TRUE;
    a->err = err;
    a->done = TRUE;
    (void)bsd_sock_close_fd(aTHX_ a->sock);
    return FALSE;
}

static void S_die_all_failed(pTHX_ bsd_attempt *list, int n, bool timed_out, SV *where)
    __attribute__noreturn__;
/* where: the host and port asked for, in words */
static void
S_die_all_failed(pTHX_ bsd_attempt *list, int n, bool timed_out, SV *where)
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
        av_push(entry, bsd_sockaddr_to_sv(aTHX_ &a->addr, a->family));
        av_push(entry, newSViv(a->err ? a->err : ETIMEDOUT));
        av_push(entry, reason);
        av_push(attempts, newRV_noinc(MUTABLE_SV(entry)));
        sv_catpvf(why, "%s%" SVf ": %" SVf, SvCUR(why) ? "; " : "",
                  SVfARG(sv_2mortal(bsd_address_text(aTHX_ &a->addr))), SVfARG(reason));
        if (a->err)
            last_err = a->err;
    }
    {
        bsd_error e = BSD_ERROR("create_connection", timed_out ? ETIMEDOUT : last_err);
        e.attempts = newRV_noinc(MUTABLE_SV(attempts));
        e.where = newSVsv(where);
        if (timed_out) {
            e.klass = BSD_TIMEOUT_CLASS;
            e.message = newSVpvs("timed out");
        }
        else
            e.message = newSVpvf("no address answered: %" SVf, SVfARG(why));
        bsd_throw(aTHX_ &e);
    }
}

/* The race: every address, the attempts started so far, and the ones
 * the driver waits on. */
typedef struct {
    bsd_attempt   *list;
    int            n;
    int            next;        /* the next attempt to start */
    double         next_start;  /* when it may start (0: now) */
    const bsd_addr *source;
    SV            *where;       /* the host and port asked for, in words */
    struct pollfd *pfds;        /* the pending attempts' sockets */
    int           *pending;     /* which attempt each is */
} bsd_race;

/* One step of the race: the attempts the last wait found ready are read,
 * the next starts when its turn has come.  Returns the winner's index;
 * -1 with EINPROGRESS to wait for the pending ones (until the next turn),
 * or with ECONNREFUSED when every attempt failed. */
static ssize_t
S_attempt_race(pTHX_ bsd_call *c)
{
    bsd_race *const r = (bsd_race *)c->ctx;
    nfds_t i, pending = 0;
    for (i = 0; i < c->nwait; i++)
        if (r->pfds[i].revents) {
            bsd_attempt *const a = &r->list[r->pending[i]];
            if (S_finished(aTHX_ a))
                return r->pending[i];
            r->next_start = 0;          /* failed: the next one goes now */
        }
    while (r->next < r->n && bsd_now() >= r->next_start) {
        bsd_attempt *const a = &r->list[r->next++];
        if (S_start(aTHX_ a, r->source))
            return r->next - 1;
        /* a failure right away lets the next one go at once */
        r->next_start = a->done ? 0 : bsd_now() + BSD_ATTEMPT_DELAY;
    }
    for (i = 0; i < (nfds_t)r->next; i++)
        if (r->list[i].obj && !r->list[i].done) {
            r->pfds[pending].fd = r->list[i].sock->fd;
            r->pfds[pending].events = POLLOUT;
            r->pfds[pending].revents = 0;
            r->pending[pending++] = (int)i;
        }
    c->wait = r->pfds;
    c->nwait = pending;
    c->wake = r->next < r->n ? r->next_start : 0;
    errno = pending || r->next < r->n ? EINPROGRESS : ECONNREFUSED;
    return -1;
}

static void
S_race_failed(pTHX_ bsd_call *c, int err, bool timed_out)
{
    const bsd_race *const r = (const bsd_race *)c->ctx;
    PERL_UNUSED_ARG(err);
    S_die_all_failed(aTHX_ r->list, r->n, timed_out, r->where);
}

/* create_connection([$host, $port], $timeout, $source_address).  timeout
 * < 0: blocking (no deadline); the connected socket gets that timeout. */
SV *
bsd_create_connection(pTHX_ SV *address, double timeout, SV *source_sv)
{
    const char *op = "create_connection";
    bsd_addr source_addr;
    struct addrinfo hints, *res = NULL, *ai;
    const char *host, *service;
    bsd_race race;
    bsd_call c;
    double started;
    int i, rc, won;

    SvGETMAGIC(address);
    if (!SvROK(address) || SvTYPE(SvRV(address)) != SVt_PVAV
        || av_count(MUTABLE_AV(SvRV(address))) != 2)
        bsd_die_arg(aTHX_ op, "address must be [host, port], got %" SVf,
                    SVfARG(bsd_describe(aTHX_ address)));
    {
        SV **const hostp = av_fetch(MUTABLE_AV(SvRV(address)), 0, 0);
        SV **const portp = av_fetch(MUTABLE_AV(SvRV(address)), 1, 0);
        SV *const host_sv = hostp ? *hostp : &PL_sv_undef;
        SvGETMAGIC(host_sv);
        host = bsd_cstring_nomg(aTHX_ host_sv, "host name", op, NULL);
        service = bsd_service_arg(aTHX_ portp ? *portp : &PL_sv_undef, op);
        if (!service)
            bsd_die_arg(aTHX_ op, "port must be an integer in 0..65535 or a service name, got undef");
    }
    /* (as an address reads in an error: [::1]:80 for an IPv6 literal) */
    race.where = sv_2mortal(newSVpvf(strchr(host, ':') ? "[%s]:%s" : "%s:%s", host, service));
    race.source = NULL;
    if (source_sv) {
        SvGETMAGIC(source_sv);
        if (SvOK(source_sv) || SvROK(source_sv)) {
            if (!SvROK(source_sv) || SvTYPE(SvRV(source_sv)) != SVt_PVAV)
                bsd_die_arg(aTHX_ op, "source address must be [host, port], got %" SVf,
                            SVfARG(bsd_describe(aTHX_ source_sv)));
            /* an IPv4 or an IPv6 address, whichever it is: converted once */
            bsd_sockaddr_from_sv_nomg(aTHX_ NULL, AF_UNSPEC, source_sv, &source_addr, 0);
            race.source = &source_addr;
        }
    }

    Zero(&hints, 1, struct addrinfo);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    /* one deadline for the whole call: the lookup, every attempt, the
     * source's bind */
    started = bsd_now();
    rc = bsd_getaddrinfo_timed(aTHX_ *host ? host : NULL, service, &hints, &res, timeout,
                               "getaddrinfo");
    if (rc != 0) {
        const int err = errno;
        bsd_die_gai(aTHX_ op, rc, err, address,
                    sv_2mortal(newSVpvf("cannot resolve host '%s'", host)));
    }
    race.n = 0;
    for (ai = res; ai; ai = ai->ai_next)
        race.n++;
    race.list = (bsd_attempt *)bsd_scratch(aTHX_ (size_t)race.n, sizeof *race.list, op);
    race.pfds = (struct pollfd *)bsd_scratch(aTHX_ (size_t)race.n, sizeof *race.pfds, op);
    race.pending = (int *)bsd_scratch(aTHX_ (size_t)race.n, sizeof *race.pending, op);
    for (ai = res, i = 0; ai; ai = ai->ai_next, i++) {
        bsd_addr_from_ai(ai, &race.list[i].addr);
        race.list[i].family = ai->ai_family;
        race.list[i].type = ai->ai_socktype;
        race.list[i].proto = ai->ai_protocol;
    }
    freeaddrinfo(res);
    S_interleave(race.list, race.n);
    race.next = 0;
    race.next_start = 0;                /* the first attempt starts now */

    bsd_call_init(&c, NULL, NULL, op, POLLOUT, S_attempt_race);
    c.timeout = timeout;
    if (timeout > 0)
        c.deadline = started + timeout;
    c.ctx = &race;
    c.fail = S_race_failed;
    c.nwait = 0;                        /* (nothing was waited for yet) */
    won = (int)bsd_call_run(aTHX_ &c);
    {
        bsd_attempt *const winner = &race.list[won];
        for (i = 0; i < race.n; i++)    /* the losers close now, not at FREETMPS */
            if (i != won && race.list[i].obj)
                (void)bsd_sock_close_fd(aTHX_ race.list[i].sock);
        if (timeout != 0 && bsd_set_fd_nonblocking(winner->sock->fd, FALSE) < 0)
            bsd_die_errno(aTHX_ op, errno, NULL);
        winner->sock->timeout = timeout;
        bsd_handle_open(aTHX_ MUTABLE_GV(SvRV(winner->obj)), winner->sock, TRUE, TRUE, FALSE, op);
        return winner->obj;
    }
}
