/*
 * call.c - the driver: the one place a socket call waits and retries.
 *
 * A method describes its system call (bsd_call, see bsdsocket.h) and hands
 * it to bsd_call_run(), after CPython's sock_call_ex(): the deadline is set
 * once, the attempt runs, EINTR runs Perl's signal handlers and retries,
 * EAGAIN waits (per the socket's timeout) and retries, a connect in
 * progress is waited for and its outcome read, and calls that move data
 * in pieces report each piece.  Nothing outside this file loops on a
 * system call, or calls poll(2); the poller's epoll backend waits through
 * bsd_wait() with its own wait_once().
 */
#define PERL_NO_GET_CONTEXT
#include "EXTERN.h"
#include "perl.h"
#include "XSUB.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <time.h>

#include "bsdsocket.h"

/* ------------------------------------------------------------ the clock */

double
bsd_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

double
bsd_deadline(double timeout)
{
    return timeout < 0 ? 0 : bsd_now() + timeout;
}

/* ---------------------------------------------------- scoped deadlines */

int bsd_scoped_deadlines;

/* BSDSocket::deadline keeps the deadline in force in a package variable
 * it localizes: each interpreter has its own, and it is put back however
 * the code leaves. */
double
bsd_scoped_deadline(pTHX)
{
    SV *const sv = get_sv("BSDSocket::_deadline", 0);
    return sv && SvNOK(sv) ? SvNVX(sv) : 0;
}

double
bsd_scoped_timeout(pTHX_ double timeout)
{
    const double deadline = bsd_scoped_deadline(aTHX);
    double left;
    if (deadline <= 0 || timeout == 0)
        return timeout;             /* (non-blocking stays non-blocking) */
    left = deadline - bsd_now();
    if (left < 1e-6)
        left = 1e-6;
    return timeout > 0 && timeout < left ? timeout : left;
}

double
bsd_wait_deadline(pTHX_ double timeout, bool *scoped)
{
    const double effective = bsd_effective_timeout(aTHX_ timeout);
    *scoped = effective != timeout;
    return bsd_deadline(effective);
}

void
bsd_scoped_deadlines_add(int n)
{
#ifdef __GNUC__
    (void)__atomic_add_fetch(&bsd_scoped_deadlines, n, __ATOMIC_RELAXED);
#else
    bsd_scoped_deadlines += n;
#endif
}

/* ------------------------------------------------------- Perl's signals */

static void
S_release(pTHX_ void *s)
{
    bsd_sock_release(aTHX_ (bsd_sock *)s);
}

/* Perl code is about to run in the middle of our call (a signal handler).
 * It may drop the last reference to the socket or rewrite the scalar we
 * are sending from: hold the object and its struct (for a call made
 * through the handle, there is no object to hold), and let the call copy
 * what it needs. */
static void
S_guard_against_perl(pTHX_ bsd_call *c)
{
    if (c->guarded)
        return;
    c->guarded = TRUE;
    if (c->self && SvROK(c->self))   /* (a tied invocant is held by its fetched copy) */
        sv_2mortal(SvREFCNT_inc_simple_NN(SvRV(c->self)));
    if (c->sock) {
        c->sock->refcnt++;
        SAVEDESTRUCTOR_X(S_release, c->sock);
    }
    if (c->guard)
        c->guard(aTHX_ c);
}

/* Run the handlers perl deferred (a handler that dies takes its exception
 * out of here, leaving the socket as it was); then the call goes on,
 * unless a handler closed its socket, or its recheck() says it cannot go
 * on: then c->stop holds the errno to end it with. */
static void
S_run_signal_handlers(pTHX_ bsd_call *c)
{
    if (!c) {
        PERL_ASYNC_CHECK();
        return;
    }
    if (PL_sig_pending) {
        S_guard_against_perl(aTHX_ c);
        PERL_ASYNC_CHECK();
        if (c->recheck)
            c->recheck(aTHX_ c);
        if (!c->stop && c->sock && c->sock->fd < 0)
            c->stop = EBADF;
    }
}

/* ------------------------------------------------------------- waiting */

/* A receive whose socket holds datagrams (gro.c) has what it waits for,
 * though no poll would wake for them: a signal handler that received on
 * the socket may have left them there. */
static bool
S_datagrams_held(const bsd_call *c)
{
    return c->sock && (c->one.events & POLLIN) && c->wait == &c->one && bsd_gro_holds(c->sock);
}

/* The one place that waits.  Calls wait_once(ctx, ms) (poll, epoll_wait)
 * until it reports something ready or the deadline (monotonic seconds
 * from bsd_now(); 0 for none) passes; a deadline already past still
 * gets one look (a timeout of 0 polls once).  A signal runs Perl's
 * deferred handlers (through the call c when there is one, which guards
 * its buffers first), and the wait goes on with what is left, unless a
 * handler left the call's socket holding datagrams (then 1).  Returns
 * what wait_once returned, 0 when the time is up, -1 when a handler
 * stopped the call (c->stop); dies (op) if it fails. */
int
bsd_wait(pTHX_ bsd_wait_once wait_once, void *ctx, double deadline, bsd_call *c,
         const char *op)
{
    for (;;) {
        int ms = -1, ready;
        bool to_the_end = FALSE;    /* this wait lasts until the deadline */
        if (deadline > 0) {
            const double left_ms = (deadline - bsd_now()) * 1000;
            /* rounded up, so the wait never ends before the deadline; it
             * takes an int, so a longer wait goes round again */
            if (left_ms <= 0 || left_ms < (double)INT_MAX) {
                ms = left_ms <= 0 ? 0 : (int)ceil(left_ms);
                to_the_end = TRUE;
            }
            else
                ms = INT_MAX;
        }
        ready = wait_once(ctx, ms);
        if (ready > 0)
            return ready;
        if (ready < 0) {
            const int err = errno;
            if (err != EINTR) {
                if (c)
                    bsd_call_die(aTHX_ c, err);
                bsd_die_errno(aTHX_ op, err, NULL);
            }
            S_run_signal_handlers(aTHX_ c);
            if (c && c->stop)
                return -1;
            if (c && S_datagrams_held(c))
                return 1;
        }
        else if (to_the_end)
            return 0;               /* (poll waited all of it: no second look) */
    }
}

typedef struct { struct pollfd *pfds; nfds_t n; } bsd_poll_args;

static int
S_poll_once(void *ctx, int ms)
{
    const bsd_poll_args *const a = (const bsd_poll_args *)ctx;
    return poll(a->pfds, a->n, ms);
}

int
bsd_poll_wait(pTHX_ struct pollfd *pfds, nfds_t n, double deadline, bsd_call *c,
              const char *op)
{
    bsd_poll_args a;
    a.pfds = pfds;
    a.n = n;
    return bsd_wait(aTHX_ S_poll_once, &a, deadline, c, op);
}

short
bsd_fd_ready_now(int fd, short events)
{
    struct pollfd pfd;
    pfd.fd = fd;
    pfd.events = events;
    pfd.revents = 0;
    return poll(&pfd, 1, 0) > 0 ? pfd.revents : 0;
}

bool
bsd_fd_ready(int fd, short events)
{
    return bsd_fd_ready_now(fd, events) != 0;
}

/* ------------------------------------------------------------ failing */

/* The error of call c: its address (the Perl value, and the words for
 * the text) and what it sent. */
static bsd_error
S_call_error(pTHX_ const bsd_call *c, int err)
{
    bsd_error e = BSD_ERROR(c->op, err);
    if (c->peer)
        bsd_error_at(aTHX_ &e, c->peer, c->peer->u.sa.sa_family);
    e.sent = c->sent;
    return e;
}

void
bsd_call_die(pTHX_ const bsd_call *c, int err)
{
    const bsd_error e = S_call_error(aTHX_ c, err);
    bsd_throw(aTHX_ &e);
}

/* The message of a timeout is exactly "timed out". */
void
bsd_die_timeout(pTHX_ const char *op)
{
    bsd_error e = BSD_ERROR(op, ETIMEDOUT);
    e.klass = BSD_TIMEOUT_CLASS;
    e.message = newSVpvs("timed out");
    bsd_throw(aTHX_ &e);
}

static void S_die_timed_out(pTHX_ const bsd_call *c) __attribute__noreturn__;
static void
S_die_timed_out(pTHX_ const bsd_call *c)
{
    bsd_error e = S_call_error(aTHX_ c, ETIMEDOUT);
    e.klass = BSD_TIMEOUT_CLASS;
    e.message = newSVpvs("timed out");
    bsd_throw(aTHX_ &e);
}

/* The call failed (err), or its time ran out: die as it says, or, in
 * BSD_CALL_ERRNO mode, return -1 with the errno in c->err. */
static ssize_t
S_fail(pTHX_ bsd_call *c, int err, bool timed_out)
{
    if (timed_out)
        err = ETIMEDOUT;
    if (c->mode & BSD_CALL_ERRNO) {
        c->err = err;
        c->timed_out = timed_out;
        return -1;
    }
    if (c->fail)
        c->fail(aTHX_ c, err, timed_out);
    if (timed_out)
        S_die_timed_out(aTHX_ c);
    bsd_call_die(aTHX_ c, err);
}

/* ------------------------------------------------------------ the rules */

/* EAGAIN on a blocking socket: either its fd shares an open file
 * description that another handle made non-blocking (a dup, a fromfd copy,
 * a makefile handle), and the call should wait as a blocking one does; or
 * the kernel's own SO_RCVTIMEO/SO_SNDTIMEO ran out, or the caller asked
 * for MSG_DONTWAIT, and the EAGAIN is the answer. */
static bool
S_blocking_should_wait(const bsd_call *c)
{
    int fl;
    /* (MSG_ERRQUEUE never blocks: an empty error queue is the answer) */
    if (c->flags & (MSG_DONTWAIT | BSD_MSG_ERRQUEUE))
        return FALSE;
    fl = fcntl(c->sock->fd, F_GETFL);
    return fl >= 0 && (fl & O_NONBLOCK);
}

/* Whether an EAGAIN means "wait": always with a timeout, never without
 * one (non-blocking), and for a blocking call when what it waits for is
 * not its socket (sendfile's input) or that socket shares a non-blocking
 * fd.  A call through the handle (BSD_CALL_FD_MODE) on an fd that is
 * non-blocking does not wait: a positive timeout leaves the fd blocking,
 * so the flag was set by code that manages the handle as its own. */
static bool
S_may_wait(const bsd_call *c)
{
    if ((c->mode & BSD_CALL_FD_MODE) && c->wait == &c->one && c->one.fd == c->sock->fd) {
        const int fl = fcntl(c->sock->fd, F_GETFL);
        if (fl >= 0 && (fl & O_NONBLOCK))
            return FALSE;
    }
    if (c->timeout > 0)
        return TRUE;
    if (c->timeout == 0)
        return FALSE;
    return !c->sock || c->wait != &c->one || c->one.fd != c->sock->fd
        || S_blocking_should_wait(c);
}

enum { BSD_WAIT_READY, BSD_WAIT_WOKE, BSD_WAIT_TIMED_OUT, BSD_WAIT_STOPPED };

/* Wait for what the call waits for, until its deadline (or its wake
 * time, if that comes first). */
static int
S_wait(pTHX_ bsd_call *c)
{
    double until = c->deadline;
    int ready;
    if (S_datagrams_held(c))          /* (a handler that ran just before) */
        return BSD_WAIT_READY;
    if (c->wake > 0 && (until == 0 || c->wake < until))
        until = c->wake;
    ready = bsd_poll_wait(aTHX_ c->wait, c->nwait, until, c, c->op);
    if (ready > 0)
        return BSD_WAIT_READY;
    if (ready < 0)
        return BSD_WAIT_STOPPED;
    return until == c->deadline && c->deadline > 0 ? BSD_WAIT_TIMED_OUT : BSD_WAIT_WOKE;
}

/* A pause of ms milliseconds (no later than the deadline), through the
 * one waiting loop so that signals run Perl's handlers: poll with no fd
 * to watch (poll skips a negative fd) is a sleep.  FALSE when the
 * deadline has passed (or a handler stopped the call). */
static bool
S_pause(pTHX_ bsd_call *c, int ms)
{
    struct pollfd none;
    double until = bsd_now() + ms / 1000.0;
    if (c->deadline > 0 && until > c->deadline)
        until = c->deadline;
    none.fd = -1;
    none.events = 0;
    none.revents = 0;
    return bsd_poll_wait(aTHX_ &none, 1, until, c, c->op) >= 0
        && !(c->deadline > 0 && bsd_now() >= c->deadline);
}

#define BSD_PAUSE_MAX_MS 64

int
bsd_connect_outcome(int fd)
{
    bsd_addr peer;
    int err = 0;
    socklen_t len = sizeof err;
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
        return errno;
    if (err)
        return err;
    peer.len = sizeof peer.u;
    return getpeername(fd, &peer.u.sa, &peer.len) == 0 ? 0 : errno;
}

/* --------------------------------------------------------- the driver */

void
bsd_call_init(bsd_call *c, bsd_sock *s, SV *self, const char *op, short events,
              ssize_t (*attempt)(pTHX_ bsd_call *c))
{
    Zero(c, 1, bsd_call);
    c->sock = s;
    c->self = self;
    c->op = op;
    c->timeout = s ? s->timeout : -1.0;
    c->attempt = attempt;
    c->one.fd = s ? s->fd : -1;
    c->one.events = events;
    c->wait = &c->one;
    c->nwait = 1;
    c->sent = -1;
}

/* From the first attempt's result on (r, or -1 and err; taken: r's piece
 * has been through progress already, which said there is more to do).
 *
 * Connecting takes time the kernel spends on its own: a socket with a
 * timeout says EINPROGRESS, and a blocking one interrupted by a signal
 * (EINTR) goes on connecting (connecting again would only say EALREADY,
 * as CPython knows, PEP 475); either way wait for it to become writable,
 * within the deadline, and read the outcome.  A non-blocking one (timeout
 * 0) reports EINPROGRESS.  An AF_UNIX socket whose listener's backlog is
 * full says EAGAIN, and nothing will wake a poll when room comes: pause
 * and try again.
 *
 * poll can also say ready while the call still cannot proceed: recvmsg
 * with MSG_ERRQUEUE while ordinary data waits, sendto to an AF_UNIX
 * datagram socket whose queue is full while our own buffer has room.  So
 * a retry that fails again after a wait first pauses (1 ms, doubling up
 * to BSD_PAUSE_MAX_MS) instead of spinning, checks the deadline itself,
 * and runs any signal handler that is due (no EINTR comes to run it). */
static ssize_t
S_drive(pTHX_ bsd_call *c, ssize_t r, int err, bool taken)
{
    int pause_ms = 0;               /* > 0 once a wait has been in vain */
    c->timeout = bsd_effective_timeout(aTHX_ c->timeout);   /* (a scoped deadline) */
    if (c->sock && c->sock->call_deadline > 0) {
        /* the call's address took a lookup, which its timeout counted */
        if (c->sock->call_deadline_op == PL_op && c->deadline == 0 && c->timeout > 0)
            c->deadline = c->sock->call_deadline;
        c->sock->call_deadline = 0;
    }
    if (c->timeout > 0 && c->deadline == 0)
        c->deadline = bsd_now() + c->timeout;
    if (UNLIKELY(bsd_scoped_in_force())) {
        /* (a deadline the call came with: a scoped one still comes first) */
        const double scoped = bsd_scoped_deadline(aTHX);
        if (scoped > 0 && (c->deadline == 0 || scoped < c->deadline))
            c->deadline = scoped;
    }
    for (;;) {
        int waited = BSD_WAIT_READY;
        if (r >= 0) {
            if (!taken && (!c->progress || c->progress(aTHX_ c, r)))
                return r;
            taken = FALSE;
            c->progressed = TRUE;
            pause_ms = 0;
            if (UNLIKELY(PL_sig_pending))
                S_run_signal_handlers(aTHX_ c);     /* between the pieces */
        }
        else if ((c->mode & BSD_CALL_SHORT_OK) && c->progressed)
            return r;                               /* what went is the answer */
        else if ((c->mode & BSD_CALL_CONNECT)
                 && (err == EINTR || (err == EINPROGRESS && c->timeout != 0))) {
            S_run_signal_handlers(aTHX_ c);
            if (!c->stop && (waited = S_wait(aTHX_ c)) == BSD_WAIT_READY) {
                err = bsd_connect_outcome(c->sock->fd);
                if (err == 0)
                    return 0;
                if (err != ENOTCONN)
                    return S_fail(aTHX_ c, err, FALSE);
            }
        }
        else if (err == EINTR)
            S_run_signal_handlers(aTHX_ c);
        else if (err == EINPROGRESS && !(c->mode & BSD_CALL_CONNECT))
            waited = S_wait(aTHX_ c);   /* the attempt waits on its own terms (wait, wake) */
        else if ((err == EAGAIN || err == EWOULDBLOCK) && S_may_wait(c)
                 /* (connect's EAGAIN elsewhere: no local port is free) */
                 && (!(c->mode & BSD_CALL_CONNECT) || c->sock->family == AF_UNIX)) {
            S_run_signal_handlers(aTHX_ c);
            if (c->stop)
                ;
            else if ((c->mode & BSD_CALL_CONNECT) || pause_ms) {
                /* (an AF_UNIX connect: no poll would wake) */
                if (!S_pause(aTHX_ c, pause_ms ? pause_ms : 1))
                    waited = c->stop ? BSD_WAIT_STOPPED : BSD_WAIT_TIMED_OUT;
                else if (!(c->mode & BSD_CALL_CONNECT))
                    waited = S_wait(aTHX_ c);
                if (pause_ms < BSD_PAUSE_MAX_MS)
                    pause_ms = pause_ms ? pause_ms * 2 : 2;
            }
            else {
                waited = S_wait(aTHX_ c);
                pause_ms = 1;
            }
        }
        else
            return S_fail(aTHX_ c, err, FALSE);
        if (c->stop || waited == BSD_WAIT_STOPPED)
            return S_fail(aTHX_ c, c->stop ? c->stop : EBADF, FALSE);
        if (waited == BSD_WAIT_TIMED_OUT)
            return S_fail(aTHX_ c, 0, TRUE);
        r = c->attempt(aTHX_ c);
        err = r < 0 ? errno : 0;
    }
}

ssize_t
bsd_call_run(pTHX_ bsd_call *c)
{
    const ssize_t r = c->attempt(aTHX_ c);
    /* (a call done at the first attempt, as most are, needs none of the
     * driver's setting up: its deadline, a scoped one) */
    if (LIKELY(r >= 0) && (!c->progress || c->progress(aTHX_ c, r))) {
        if (c->sock)                /* (a lookup's deadline is this call's alone) */
            c->sock->call_deadline = 0;
        return r;
    }
    return S_drive(aTHX_ c, r, r < 0 ? errno : 0, r >= 0);
}

ssize_t
bsd_call_after(pTHX_ bsd_call *c, ssize_t r, int err)
{
    return S_drive(aTHX_ c, r, err, FALSE);
}
