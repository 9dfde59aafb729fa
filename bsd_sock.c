/*
 * bsd_sock.c - the socket object, the call driver, and the helpers behind
 * the socket methods.
 *
 * The object: a blessed scalar whose ext magic holds a bsd_sock (see
 * bsdsocket.h).  Freeing the scalar closes the fd (S_sock_free); cloning
 * it for a new Perl thread dups the fd, so each thread owns a descriptor
 * of its own and nothing is ever closed twice (S_sock_dup).
 *
 * The driver: bsd_call_run() is the one place a socket call waits.  It
 * makes the system call, and on EINTR runs Perl's deferred signal
 * handlers and tries again.  Every method that can block goes through it;
 * the hottest (send, recv) make their first attempt inline and hand any
 * failure to bsd_call_failed(), the driver's part after the first try.
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
#include <stddef.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bsdsocket.h"

/* ------------------------------------------------------------ the object */

/* Per interpreter: how many times one of its sockets gave up its fd. */
#define MY_CXT_KEY "BSDSocket::_sock_guts" XS_VERSION
typedef struct { U32 closes; } my_cxt_t;
START_MY_CXT

void
bsd_sock_boot(pTHX)
{
    MY_CXT_INIT;
    MY_CXT.closes = 0;
}

void
bsd_sock_clone(pTHX)
{
    MY_CXT_CLONE;
}

U32
bsd_sock_closes(pTHX)
{
    dMY_CXT;
    return MY_CXT.closes;
}

static void
S_count_close(pTHX)
{
    dMY_CXT;
    MY_CXT.closes++;
}

static int
S_sock_free(pTHX_ SV *sv, MAGIC *mg)
{
    bsd_sock *const s = (bsd_sock *)mg->mg_ptr;
    PERL_UNUSED_ARG(sv);
    if (!s)
        return 0;
    if (s->fd >= 0) {
        /* DESTROY may run while a die unwinds: keep that error's $! */
        const int saved_errno = errno;
        const int fd = s->fd;
        s->fd = -1;
        (void)close(fd);
        errno = saved_errno;
    }
    if (s->last_peer) {
        SV *const peer = s->last_peer;
        s->last_peer = NULL;
        SvREFCNT_dec(peer);
    }
    return 0;
}

/* A new thread gets copies of every object; perl has copied the struct
 * already (mg_len > 0).  Give the copy a descriptor of its own. */
static int
S_sock_dup(pTHX_ MAGIC *mg, CLONE_PARAMS *param)
{
    bsd_sock *const s = (bsd_sock *)mg->mg_ptr;
    PERL_UNUSED_ARG(param);
    s->last_peer = NULL;               /* the parent interpreter's array */
    if (s->fd >= 0)
        s->fd = fcntl(s->fd, F_DUPFD_CLOEXEC, 0);   /* -1 (closed) if it fails */
    return 0;
}

/* `local` on a glob aliased to the object would copy the magic, struct
 * and all, into the localized scalar, and freeing that copy would close
 * the fd under the original: a localized copy gets no magic at all. */
int
bsd_magic_not_local(pTHX_ SV *nsv, MAGIC *mg)
{
    PERL_UNUSED_ARG(nsv);
    PERL_UNUSED_ARG(mg);
    return 0;
}

MGVTBL bsd_sock_vtbl = {
    NULL, NULL, NULL, NULL, S_sock_free, NULL, S_sock_dup, bsd_magic_not_local
};

SV *
bsd_sock_new(pTHX_ HV *stash, bsd_sock **out)
{
    const bsd_sock fresh = { -1, AF_UNSPEC, 0, 0, -1.0, NULL, 0 };
    SV *const obj = newSV_type(SVt_PVMG);
    SV *const rv = sv_2mortal(newRV_noinc(obj));
    MAGIC *const mg = sv_magicext(obj, NULL, PERL_MAGIC_ext, &bsd_sock_vtbl,
                                  (const char *)&fresh, sizeof fresh);
    mg->mg_flags |= MGf_DUP | MGf_LOCAL;
    sv_bless(rv, stash);
    *out = (bsd_sock *)mg->mg_ptr;
    return rv;
}

/* Was the XSUB running now called as a method?  Then perl has run the
 * invocant's get-magic already, to find the class. */
static bool
S_called_as_method(pTHX)
{
    const OP *o = PL_op;
    if (!o || o->op_type != OP_ENTERSUB || !(o->op_flags & OPf_KIDS))
        return FALSE;
    o = cUNOPo->op_first;
    if (o->op_type == OP_NULL && (o->op_flags & OPf_KIDS))
        o = cUNOPo->op_first;          /* the ex-list around the arguments */
    while (OpHAS_SIBLING(o))
        o = OpSIBLING(o);
    switch (o->op_type) {
    case OP_METHOD: case OP_METHOD_NAMED: case OP_METHOD_SUPER:
    case OP_METHOD_REDIR: case OP_METHOD_REDIR_SUPER:
        return TRUE;
    default:
        return FALSE;
    }
}

/* The type check's slow path: a tied invocant, or something that is not
 * our object.  A tied one is read once: by perl when this is a method call
 * (its value is the one perl looked the method up with), else here. */
bsd_sock *
bsd_sock_of_slow(pTHX_ SV *sv, const char *op)
{
    SV *value = sv;
    if (SvGMAGICAL(sv) && !S_called_as_method(aTHX))
        value = sv_mortalcopy(sv);     /* runs get-magic once; holds the object */
    bsd_sock *const s = bsd_sock_or_null(aTHX_ value);
    if (s)
        return s;
    bsd_die_not_socket(aTHX_ value, op);
}

bsd_sock *
bsd_sock_or_null(pTHX_ SV *sv)
{
    if (SvROK(sv) && SvTYPE(SvRV(sv)) >= SVt_PVMG) {
        const MAGIC *const mg = mg_findext(SvRV(sv), PERL_MAGIC_ext, &bsd_sock_vtbl);
        if (mg)
            return (bsd_sock *)mg->mg_ptr;
    }
    return NULL;
}

/* The class a new socket is blessed into: a class name given as the
 * invocant (BSDSocket::Socket->new, a subclass's new), or the base class. */
HV *
bsd_sock_stash(pTHX_ SV *klass)
{
    if (!klass)
        return gv_stashpvs(BSD_SOCKET_CLASS, GV_ADD);
    /* new() called on a class or an object: BSDSocket::Socket or a
     * subclass of it, nothing else (an object of no known class would
     * have no methods) */
    if (SvGMAGICAL(klass))              /* (one FETCH of a tied class) */
        klass = sv_mortalcopy(klass);
    if ((SvROK(klass) ? SvOBJECT(SvRV(klass)) : SvPOK(klass) && SvCUR(klass) > 0)
        && sv_derived_from(klass, BSD_SOCKET_CLASS))
        return SvROK(klass) ? SvSTASH(SvRV(klass)) : gv_stashsv(klass, GV_ADD);
    bsd_die_arg(aTHX_ "new", "class must be " BSD_SOCKET_CLASS " or a subclass of it, got %" SVf,
                SVfARG(bsd_describe(aTHX_ klass)));
}

/* ------------------------------------------------------------ the driver */

/* Perl code is about to run in the middle of our call (a signal handler).
 * It may drop the last reference to the socket or rewrite the scalar we
 * are sending from: hold the object, and let the call copy what it needs. */
static void
S_guard_against_perl(pTHX_ bsd_call *c)
{
    if (c->guarded)
        return;
    c->guarded = TRUE;
    if (c->self && SvROK(c->self))   /* (a tied invocant is held by its fetched copy) */
        sv_2mortal(SvREFCNT_inc_simple_NN(SvRV(c->self)));
    if (c->guard)
        c->guard(aTHX_ c);
}

/* EINTR: run the handlers perl deferred (a handler that dies takes its
 * exception out of here, leaving the socket as it was), then retry. */
void
bsd_call_signals(pTHX_ bsd_call *c)
{
    if (PL_sig_pending) {
        S_guard_against_perl(aTHX_ c);
        PERL_ASYNC_CHECK();
        if (c->sock->fd < 0)            /* a handler closed it */
            bsd_call_die(aTHX_ c, EBADF);
        if (c->recheck)
            c->recheck(aTHX_ c);
    }
}

static SV *
S_call_address(pTHX_ const bsd_call *c)
{
    return c->peer ? sv_2mortal(bsd_sockaddr_to_sv(aTHX_ c->peer)) : NULL;
}

void
bsd_call_die(pTHX_ const bsd_call *c, int err)
{
    if (c->sent < 0)
        bsd_die_errno(aTHX_ c->op, err, S_call_address(aTHX_ c));
    bsd_throw(aTHX_ BSD_ERROR_CLASS, c->op, 1, err, bsd_errno_message(aTHX_ err),
              S_call_address(aTHX_ c), newSViv(c->sent), NULL);
}

/* SPEC 6: the message is exactly "timed out". */
void
bsd_call_timed_out(pTHX_ const bsd_call *c)
{
    bsd_throw(aTHX_ "BSDSocket::Error::Timeout", c->op, 1, ETIMEDOUT,
              newSVpvs("timed out"), S_call_address(aTHX_ c),
              c->sent < 0 ? NULL : newSViv(c->sent), NULL);
}

double
bsd_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The one place that waits.  Calls wait_once(ctx, ms) (poll, epoll_wait)
 * until it reports something ready or the deadline (monotonic seconds
 * from bsd_now(); 0 for none) passes; a deadline already past still
 * gets one look (a timeout of 0 polls once).  A signal runs Perl's
 * deferred handlers (through the call c when there is one, which guards
 * its buffers first), and the wait goes on with what is left.  Returns
 * what wait_once returned, 0 when the time is up; dies (op) if it fails. */
int
bsd_wait(pTHX_ bsd_wait_once wait_once, void *ctx, double deadline, bsd_call *c,
         const char *op)
{
    for (;;) {
        int ms = -1, ready;
        bool last_look = FALSE;
        if (deadline > 0) {
            const double left_ms = (deadline - bsd_now()) * 1000;
            /* rounded up, so the wait never ends before the deadline; it
             * takes an int, so a longer wait goes round again */
            if (left_ms <= 0) {
                ms = 0;
                last_look = TRUE;
            }
            else
                ms = left_ms >= (double)INT_MAX ? INT_MAX : (int)ceil(left_ms);
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
            if (c)
                bsd_call_signals(aTHX_ c);
            else
                PERL_ASYNC_CHECK();
        }
        else if (last_look)
            return 0;
        /* else the time is up (one more look), or one INT_MAX-ms stretch of it */
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

/* Wait until the call's socket is ready for c->events: forever on a
 * blocking socket, else within the call's deadline (set the first time
 * the call has to wait, or by the caller for a call that spans several
 * system calls, like sendall).  Returns 0, or ETIMEDOUT when the time is
 * up; the caller dies with BSDSocket::Error::Timeout or, for connect_ex,
 * reports it. */
static int
S_wait(pTHX_ bsd_call *c)
{
    struct pollfd pfd;
    if (c->sock->timeout > 0 && c->deadline == 0)
        c->deadline = bsd_now() + c->sock->timeout;
    pfd.fd = c->sock->fd;
    pfd.events = c->events;
    pfd.revents = 0;
    return bsd_poll_wait(aTHX_ &pfd, 1, c->sock->timeout > 0 ? c->deadline : 0, c, c->op)
        ? 0 : ETIMEDOUT;
}

/* EAGAIN on a blocking socket: either its fd shares an open file
 * description that another handle made non-blocking (a dup, a fromfd copy,
 * a makefile handle), and the call should wait as a blocking one does; or
 * the kernel's own SO_RCVTIMEO/SO_SNDTIMEO ran out, or the caller asked
 * for MSG_DONTWAIT, and the EAGAIN is the answer. */
static bool
S_blocking_should_wait(const bsd_call *c)
{
    const int fl = fcntl(c->sock->fd, F_GETFL);
    /* (MSG_ERRQUEUE never blocks: an empty error queue is the answer) */
    return !(c->flags & (MSG_DONTWAIT | MSG_ERRQUEUE)) && fl >= 0 && (fl & O_NONBLOCK);
}

/* A pause of ms milliseconds (no later than the call's deadline), through
 * the one waiting loop so that signals run Perl's handlers: poll with no
 * fd to watch (poll skips a negative fd) is a sleep. */
static void
S_pause(pTHX_ bsd_call *c, int ms)
{
    struct pollfd none;
    double until = bsd_now() + ms / 1000.0;
    if (c->deadline > 0 && until > c->deadline)
        until = c->deadline;
    none.fd = -1;
    none.events = 0;
    none.revents = 0;
    (void)bsd_poll_wait(aTHX_ &none, 1, until, c, c->op);
}

#define BSD_PAUSE_MAX_MS 64

/* The first attempt failed with `err`: from here on the driver decides.
 * EINTR: run Perl's signal handlers, retry.  EAGAIN on a socket with a
 * timeout, or on a blocking one whose fd another handle made non-blocking:
 * wait (within the deadline, if any), retry.  Anything else, including
 * EAGAIN on a non-blocking socket: die.  Returns what a later attempt
 * returned.
 *
 * poll can say ready while the call still cannot proceed: recvmsg with
 * MSG_ERRQUEUE while ordinary data waits, sendto to an AF_UNIX datagram
 * socket whose queue is full while our own buffer has room.  So a retry
 * that fails again after a wait first pauses (1 ms, doubling up to
 * BSD_PAUSE_MAX_MS) instead of spinning, checks the deadline itself, and
 * runs any signal handler that is due (no EINTR comes to run it). */
ssize_t
bsd_call_failed(pTHX_ bsd_call *c, int err)
{
    int pause_ms = 0;               /* > 0 once a wait has been in vain */
    for (;;) {
        ssize_t r;
        if (UNLIKELY(PL_sig_pending))
            bsd_call_signals(aTHX_ c);
        if (err == EINTR)
            ;                       /* (the handlers just ran) */
        else if ((err == EAGAIN || err == EWOULDBLOCK)
                 && (c->sock->timeout > 0
                     || (c->sock->timeout < 0 && S_blocking_should_wait(c)))) {
            if (pause_ms) {
                S_pause(aTHX_ c, pause_ms);
                if (pause_ms < BSD_PAUSE_MAX_MS)
                    pause_ms *= 2;
                if (c->deadline > 0 && bsd_now() >= c->deadline)
                    bsd_call_timed_out(aTHX_ c);
            }
            if (S_wait(aTHX_ c) == ETIMEDOUT)
                bsd_call_timed_out(aTHX_ c);
            if (!pause_ms)
                pause_ms = 1;
        }
        else
            bsd_call_die(aTHX_ c, err);
        r = c->attempt(c);
        if (r >= 0)
            return r;
        err = errno;
    }
}

/* ------------------------------------------------------- timeouts */

/* The default timeout of every socket made from now on (SPEC 6); one per
 * process, as in CPython. */
static double bsd_default_timeout = -1.0;

double
bsd_get_default_timeout(void)
{
    return bsd_default_timeout;
}

void
bsd_set_default_timeout(double timeout)
{
    bsd_default_timeout = timeout;
}

/* The socket type flag that gives a new socket the default timeout's
 * blocking mode in the same system call that makes it. */
static int
S_default_nonblock_flag(void)
{
    return bsd_default_timeout >= 0 ? SOCK_NONBLOCK : 0;
}

/* As in CPython: a timeout (0 or more) needs the fd non-blocking, so the
 * driver can poll; undef (blocking) clears O_NONBLOCK. */
int
bsd_set_fd_nonblocking(int fd, bool nonblocking)
{
    const int flags = fcntl(fd, F_GETFL);
    if (flags < 0)
        return -1;
    if (cBOOL(flags & O_NONBLOCK) == nonblocking)
        return 0;
    return fcntl(fd, F_SETFL, nonblocking ? flags | O_NONBLOCK : flags & ~O_NONBLOCK);
}

/* For the calls that have no MSG_DONTWAIT (accept, connect, sendfile): a
 * socket with a timeout needs its fd non-blocking, and another handle on
 * the same open file description may have made it blocking since
 * (see BSD_NOWAIT).  Make it non-blocking again, as settimeout did. */
void
bsd_sock_own_mode(pTHX_ bsd_sock *s, const char *op)
{
    if (s->timeout >= 0 && bsd_set_fd_nonblocking(s->fd, TRUE) < 0)
        bsd_die_errno(aTHX_ op, errno, NULL);
}

void
bsd_sock_settimeout(pTHX_ bsd_sock *s, double timeout, const char *op)
{
    if (bsd_set_fd_nonblocking(s->fd, timeout >= 0) < 0)
        bsd_die_errno(aTHX_ op, errno, NULL);
    s->timeout = timeout;
}

bool
bsd_sock_get_inheritable(pTHX_ bsd_sock *s)
{
    const int flags = fcntl(s->fd, F_GETFD);
    if (flags < 0)
        bsd_die_errno(aTHX_ "get_inheritable", errno, NULL);
    return !(flags & FD_CLOEXEC);
}

void
bsd_sock_set_inheritable(pTHX_ bsd_sock *s, bool inheritable)
{
    const int flags = fcntl(s->fd, F_GETFD);
    if (flags < 0
        || fcntl(s->fd, F_SETFD, inheritable ? flags & ~FD_CLOEXEC : flags | FD_CLOEXEC) < 0)
        bsd_die_errno(aTHX_ "set_inheritable", errno, NULL);
}

/* ----------------------------------------------------- making sockets */

static int
S_checked_type(int type)
{
    return type & ~(SOCK_NONBLOCK | SOCK_CLOEXEC);
}

/* A new socket's timeout: 0 if SOCK_NONBLOCK asked for a non-blocking
 * one, else the default (whose blocking mode the fd was made with). */
static void
S_fill(bsd_sock *s, int fd, int family, int type, int proto)
{
    s->fd = fd;
    s->family = family;
    s->type = S_checked_type(type);
    s->proto = proto;
    s->timeout = (type & SOCK_NONBLOCK) ? 0.0 : bsd_default_timeout;
    s->gso = 0;
}

SV *
bsd_sock_create(pTHX_ HV *stash, int family, int type, int proto)
{
    bsd_sock *s;
    SV *const obj = bsd_sock_new(aTHX_ stash, &s);
    const int fd = socket(family, type | SOCK_CLOEXEC | S_default_nonblock_flag(), proto);
    if (fd < 0)
        bsd_die_errno(aTHX_ "socket", errno, NULL);
    S_fill(s, fd, family, type, proto);
    return obj;
}

void
bsd_sock_pair(pTHX_ HV *stash, int family, int type, int proto, SV **a, SV **b)
{
    bsd_sock *sa, *sb;
    int fds[2];
    *a = bsd_sock_new(aTHX_ stash, &sa);
    *b = bsd_sock_new(aTHX_ stash, &sb);
    if (socketpair(family, type | SOCK_CLOEXEC | S_default_nonblock_flag(), proto, fds) < 0)
        bsd_die_errno(aTHX_ "socketpair", errno, NULL);
    S_fill(sa, fds[0], family, type, proto);
    S_fill(sb, fds[1], family, type, proto);
}

int
bsd_dup_cloexec(pTHX_ int fd, const char *op)
{
    const int copy = fcntl(fd, F_DUPFD_CLOEXEC, 0);
    if (copy < 0)
        bsd_die_errno(aTHX_ op, errno, NULL);
    return copy;
}

static int
S_sockopt_int(pTHX_ int fd, int name, const char *op)
{
    int value = 0;
    socklen_t len = sizeof value;
    if (getsockopt(fd, SOL_SOCKET, name, &value, &len) < 0)
        bsd_die_errno(aTHX_ op, errno, NULL);
    return value;
}

/* fromfd: a socket object on a dup of fd; what the caller left out (NULL)
 * the kernel tells.  A fd that is not a socket dies ENOTSOCK. */
SV *
bsd_sock_fromfd(pTHX_ HV *stash, int fd, SV *family, SV *type, SV *proto)
{
    bsd_sock *s;
    SV *const obj = bsd_sock_new(aTHX_ stash, &s);
    /* SO_TYPE on every fd: it is what tells a socket from anything else */
    const int real_type = S_sockopt_int(aTHX_ fd, SO_TYPE, "fromfd");
    const int f = family ? int_arg(family, "family", "fromfd")
                         : S_sockopt_int(aTHX_ fd, SO_DOMAIN, "fromfd");
    const int t = type ? int_arg(type, "type", "fromfd") : real_type;
    const int p = proto ? int_arg(proto, "proto", "fromfd")
                        : S_sockopt_int(aTHX_ fd, SO_PROTOCOL, "fromfd");
    S_fill(s, bsd_dup_cloexec(aTHX_ fd, "fromfd"), f, t, p);
    /* the dup shares the fd's blocking mode (and so does the caller's fd):
     * give it the default timeout's, or report the mode it has */
    if (bsd_default_timeout >= 0) {
        if (bsd_set_fd_nonblocking(s->fd, TRUE) < 0)
            bsd_die_errno(aTHX_ "fromfd", errno, NULL);
    }
    else if (fcntl(s->fd, F_GETFL) & O_NONBLOCK)
        s->timeout = 0.0;
    return obj;
}

/* ------------------------------------------------------ the calls */

static ssize_t
S_attempt_recv(bsd_call *c)
{
    if (c->addr) {
        c->addr->len = sizeof c->addr->u;
        return recvfrom(c->sock->fd, c->buf, BSD_IO_LEN(c->len), c->flags,
                        &c->addr->u.sa, &c->addr->len);
    }
    return recv(c->sock->fd, c->buf, BSD_IO_LEN(c->len), c->flags);
}

/* recv, recv_into and recvfrom_into write into a scalar Perl code can
 * reach (the variable a result is assigned to, the caller's buffer), and
 * a signal handler could free or shrink its buffer under us: once Perl
 * code is about to run, receive into a buffer of our own instead, and
 * let the caller take the data from there. */
static void
S_guard_recv_target(pTHX_ bsd_call *c)
{
    c->bounce = sv_newmortal();
    c->buf = bsd_grow_or_die(aTHX_ c->bounce, c->len, c->op);
    /* and keep the scalar alive: the handler may drop the last reference
     * to it (delete $h{buf}) */
    sv_2mortal(SvREFCNT_inc_simple_NN(c->target));
}

/* Receive into `into` (a call site's target, or the variable the result
 * is assigned to; see bsd_fast.c), or into a new mortal when it is NULL.
 * Either way the bytes land in the scalar that is returned: no copy.  If
 * Perl code ran while the call waited, they land in a new mortal instead
 * (S_guard_recv_target), which is returned: the caller assigns it.  A
 * buffer left more than half empty, by more than BSD_RECV_SLACK bytes, is
 * shrunk to fit, so a short message does not pin a big buffer. */
#define BSD_RECV_SLACK 4096

SV *
bsd_sock_recv(pTHX_ bsd_sock *s, SV *self, SV *into, STRLEN bufsize,
              int flags, bsd_addr *from)
{
    SV *result = into ? into : sv_newmortal();
    char *buf;
    ssize_t n;
    STRLEN unused;
    flags |= BSD_NOWAIT(s);

    /* a target used before is ready for the next message as it is (not
     * one that copy-on-write shares, nor one whose start was chopped off:
     * its buffer cannot be reallocated in place) */
    if (LIKELY(SvTYPE(result) >= SVt_PV && !SvTHINKFIRST(result) && !SvOOK(result)
               && SvLEN(result) > bufsize))
        buf = SvPVX(result);
    else
        buf = bsd_grow_or_die(aTHX_ result, bufsize, from ? "recvfrom" : "recv");

    if (from) {
        from->len = sizeof from->u;
        n = recvfrom(s->fd, buf, BSD_IO_LEN(bufsize), flags, &from->u.sa, &from->len);
    }
    else
        n = recv(s->fd, buf, BSD_IO_LEN(bufsize), flags);
    if (UNLIKELY(n < 0)) {
        const int err = errno;
        bsd_call c;
        BSD_CALL_INIT(c, s, self, from ? "recvfrom" : "recv", NULL, POLLIN,
                      S_attempt_recv);
        if (into) {
            c.guard = S_guard_recv_target;
            c.target = into;
        }
        c.buf = buf;
        c.len = bufsize;
        c.flags = flags;
        c.addr = from;
        n = bsd_call_failed(aTHX_ &c, err);
        if (c.bounce) {
            result = c.bounce;
            buf = c.buf;
        }
    }

    if (n > (ssize_t)bufsize)        /* MSG_TRUNC reports the real length */
        n = (ssize_t)bufsize;
    if (from && from->len == 0 && s->family == AF_UNIX) {
        /* Linux gives no name at all for an unbound AF_UNIX sender: that
         * is the unnamed address, '' */
        from->u.sa.sa_family = AF_UNIX;
        from->len = offsetof(struct sockaddr_un, sun_path);
    }
    SvCUR_set(result, (STRLEN)n);
    buf[n] = '\0';
    (void)SvPOK_only(result);         /* bytes: no UTF-8 flag, no number */
    unused = SvLEN(result) - (STRLEN)n;
    if (UNLIKELY(unused > BSD_RECV_SLACK && unused > (STRLEN)n))
        SvPV_shrink_to_cur(result);
    if (UNLIKELY(TAINTING_get))
        SvTAINTED_on(result);
    return result;
}

STRLEN
bsd_sock_recv_into(pTHX_ bsd_sock *s, SV *self, SV *buf, SV *nbytes_sv, int flags,
                   bsd_addr *from)
{
    const char *const op = from ? "recvfrom_into" : "recv_into";
    STRLEN nbytes;
    char *const dest = bsd_into_prepare(aTHX_ buf, nbytes_sv, &nbytes, op);
    bsd_call c;
    ssize_t n;
    BSD_CALL_INIT(c, s, self, op, NULL, POLLIN, S_attempt_recv);
    c.guard = S_guard_recv_target;
    c.target = buf;
    c.buf = dest;
    c.len = nbytes;
    c.flags = flags | BSD_NOWAIT(s);
    c.addr = from;
    n = c.attempt(&c);
    if (UNLIKELY(n < 0))
        n = bsd_call_failed(aTHX_ &c, errno);
    if (n > (ssize_t)nbytes)         /* MSG_TRUNC reports the real length */
        n = (ssize_t)nbytes;
    if (from && from->len == 0 && s->family == AF_UNIX) {
        from->u.sa.sa_family = AF_UNIX;         /* (see bsd_sock_recv) */
        from->len = offsetof(struct sockaddr_un, sun_path);
    }
    if (c.bounce) {                   /* Perl code ran: the caller's buffer anew */
        if (SvREADONLY(buf) || SvROK(buf) || isGV_with_GP(buf))
            bsd_die_arg(aTHX_ op, "the buffer was changed into something that cannot be written while the call waited");
        Copy(c.buf, bsd_grow_or_die(aTHX_ buf, (STRLEN)n, op), n, char);
    }
    bsd_into_finish(aTHX_ buf, (STRLEN)n);
    return (STRLEN)n;
}

/* dup: a new object on a close-on-exec dup of the fd, with the same
 * family, type, protocol and timeout. */
SV *
bsd_sock_dup(pTHX_ bsd_sock *s, SV *self)
{
    bsd_sock *copy;
    SV *const obj = bsd_sock_new(aTHX_ SvSTASH(SvRV(self)), &copy);
    copy->fd = bsd_dup_cloexec(aTHX_ s->fd, "dup");
    copy->family = s->family;
    copy->type = s->type;
    copy->proto = s->proto;
    copy->timeout = s->timeout;
    return obj;
}

static ssize_t
S_attempt_send(bsd_call *c)
{
    if (c->addr)
        return sendto(c->sock->fd, c->buf, BSD_IO_LEN(c->len), c->flags,
                      &c->addr->u.sa, c->addr->len);
    return send(c->sock->fd, c->buf, BSD_IO_LEN(c->len), c->flags);
}

/* The data scalar belongs to the caller, and a signal handler could free
 * its buffer under us: send from a copy once Perl code is about to run. */
static void
S_guard_send_buffer(pTHX_ bsd_call *c)
{
    SV *const copy = sv_2mortal(newSVpvn(c->buf, c->len));
    c->buf = SvPVX(copy);
}

ssize_t
bsd_sock_send(pTHX_ bsd_sock *s, SV *self, SV *data, int flags,
              bsd_addr *to, const char *op)
{
    const char *buf;
    STRLEN len;
    ssize_t n;

    /* a plain byte string needs no conversion */
    if (LIKELY((SvFLAGS(data) & (SVf_POK|SVf_UTF8|SVs_GMG|SVf_ROK)) == SVf_POK)) {
        buf = SvPVX_const(data);
        len = SvCUR(data);
    }
    else
        buf = bsd_sv_to_bytes(aTHX_ data, &len, "data", op);

    /* a peer that went away is EPIPE, never a SIGPIPE that kills perl */
    flags |= MSG_NOSIGNAL | BSD_NOWAIT(s);
    n = to ? sendto(s->fd, buf, BSD_IO_LEN(len), flags, &to->u.sa, to->len)
           : send(s->fd, buf, BSD_IO_LEN(len), flags);
    if (UNLIKELY(n < 0)) {
        const int err = errno;
        bsd_call c;
        BSD_CALL_INIT(c, s, self, op, to, POLLOUT, S_attempt_send);
        c.guard = S_guard_send_buffer;
        c.buf = (char *)buf;
        c.len = len;
        c.flags = flags;
        c.addr = to;
        n = bsd_call_failed(aTHX_ &c, err);
    }
    return n;
}

static ssize_t
S_attempt_accept(bsd_call *c)
{
    c->addr->len = sizeof c->addr->u;
    /* the new socket takes the default timeout, not the listener's */
    return accept4(c->sock->fd, &c->addr->u.sa, &c->addr->len,
                   SOCK_CLOEXEC | S_default_nonblock_flag());
}

SV *
bsd_sock_accept(pTHX_ bsd_sock *s, SV *self, bsd_addr *peer)
{
    bsd_sock *conn;
    /* the connection takes the listener's class, as IO::Socket's accept does */
    SV *const obj = bsd_sock_new(aTHX_ SvSTASH(SvRV(self)), &conn);
    bsd_call c;
    BSD_CALL_INIT(c, s, self, "accept", NULL, POLLIN, S_attempt_accept);
    c.addr = peer;
    bsd_sock_own_mode(aTHX_ s, "accept");
    S_fill(conn, (int)bsd_call_run(&c), s->family, s->type, s->proto);
    return obj;
}

static ssize_t
S_attempt_connect(bsd_call *c)
{
    return connect(c->sock->fd, &c->addr->u.sa, c->addr->len);
}

/* connect: 0 or the errno it failed with (connect_ex wants the errno,
 * connect dies with it); a timeout dies, or is ETIMEDOUT for connect_ex
 * (report_timeout).  Connecting takes time the kernel spends on its own:
 * - a socket with a timeout says EINPROGRESS: wait, within the deadline,
 *   for it to become writable, and read the outcome from SO_ERROR;
 * - a blocking one interrupted by a signal (EINTR) goes on connecting:
 *   run the handlers, then wait the same way (connecting again would only
 *   say EALREADY), as CPython does (PEP 475);
 * - a non-blocking one (timeout 0) reports EINPROGRESS;
 * - a blocking one says EINPROGRESS only when another handle on its open
 *   file description made it non-blocking: wait as if it had blocked.
 * If after the wait the socket has no peer, the attempt never started (an
 * EINTR from before the kernel began, or one injected by strace): retry.
 *
 * An AF_UNIX stream socket whose listener's backlog is full says EAGAIN
 * instead, and nothing will wake a poll when room comes: a socket that
 * waits (a timeout, or blocking) pauses and tries again, as the driver
 * does when poll cannot tell (1 ms, doubling up to BSD_PAUSE_MAX_MS). */
int
bsd_sock_connect(pTHX_ bsd_sock *s, SV *self, bsd_addr *addr, bool report_timeout)
{
    bsd_call c;
    int pause_ms = 1;
    BSD_CALL_INIT(c, s, self, "connect", addr, POLLOUT, S_attempt_connect);
    c.addr = addr;
    bsd_sock_own_mode(aTHX_ s, "connect");
    for (;;) {
        bsd_addr peer;
        int err;
        socklen_t len = sizeof err;
        if (c.attempt(&c) == 0)
            return 0;
        err = errno;
        if (err == EINTR)
            bsd_call_signals(aTHX_ &c);
        else if (err == EAGAIN && s->family == AF_UNIX
                 && (s->timeout > 0 || (s->timeout < 0 && S_blocking_should_wait(&c)))) {
            if (s->timeout > 0 && c.deadline == 0)
                c.deadline = bsd_now() + s->timeout;
            if (c.deadline > 0 && bsd_now() >= c.deadline) {
                if (report_timeout)
                    return ETIMEDOUT;
                bsd_call_timed_out(aTHX_ &c);
            }
            S_pause(aTHX_ &c, pause_ms);
            if (pause_ms < BSD_PAUSE_MAX_MS)
                pause_ms *= 2;
            continue;
        }
        else if (!(err == EINPROGRESS && s->timeout != 0))
            return err;
        if (S_wait(aTHX_ &c) == ETIMEDOUT) {
            if (report_timeout)
                return ETIMEDOUT;
            bsd_call_timed_out(aTHX_ &c);
        }
        if (getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
            return errno;
        if (err)
            return err;
        peer.len = sizeof peer.u;
        if (getpeername(s->fd, &peer.u.sa, &peer.len) == 0)
            return 0;
        if (errno != ENOTCONN)
            return errno;
    }
}

/* sendall: everything, or die saying how much went (the error's `sent`).
 * One deadline for the whole call; Perl's signal handlers run between
 * partial sends. */
STRLEN
bsd_sock_sendall(pTHX_ bsd_sock *s, SV *self, SV *data, int flags)
{
    bsd_call c;
    STRLEN len;
    const char *const buf = bsd_sv_to_bytes(aTHX_ data, &len, "data", "sendall");
    BSD_CALL_INIT(c, s, self, "sendall", NULL, POLLOUT, S_attempt_send);
    c.guard = S_guard_send_buffer;      /* it copies what is left to send */
    c.buf = (char *)buf;
    c.flags = flags | MSG_NOSIGNAL | BSD_NOWAIT(s);
    c.sent = 0;
    if (s->timeout > 0)
        c.deadline = bsd_now() + s->timeout;
    c.len = len;                        /* what is left; one call sends at most BSD_MAX_IO */
    while (c.len > 0) {
        ssize_t n = c.attempt(&c);
        if (n < 0)
            n = bsd_call_failed(aTHX_ &c, errno);
        c.buf += n;
        c.len -= (size_t)n;
        c.sent += n;
        if (c.len > 0 && UNLIKELY(PL_sig_pending))
            bsd_call_signals(aTHX_ &c);
    }
    return len;
}

void
bsd_sock_close(pTHX_ bsd_sock *s)
{
    const int fd = s->fd;
    if (fd < 0)
        return;                      /* closing twice is fine */
    s->fd = -1;                      /* first, so nothing touches a reused fd */
    S_count_close(aTHX);
    /* Never retried: after EINTR the fd is gone on Linux, and may already
     * belong to another thread.  ECONNRESET just means the peer was first. */
    if (close(fd) < 0 && errno != EINTR && errno != ECONNRESET)
        bsd_die_errno(aTHX_ "close", errno, NULL);
}

/* detach: the fd is the caller's now, and the object closes nothing. */
int
bsd_sock_detach(pTHX_ bsd_sock *s)
{
    const int fd = s->fd;
    s->fd = -1;
    S_count_close(aTHX);
    return fd;
}

/* --------------------------------------------------------- options */

SV *
bsd_sock_getsockopt(pTHX_ bsd_sock *s, int level, int name, SV *buflen_sv)
{
    if (!buflen_sv) {
        int value = 0;
        socklen_t len = sizeof value;
        if (getsockopt(s->fd, level, name, &value, &len) < 0)
            bsd_die_errno(aTHX_ "getsockopt", errno, NULL);
        return sv_2mortal(newSViv(value));
    }
    else {
        const int buflen = (int)bsd_sv_to_iv(aTHX_ buflen_sv, 1, 1024,
                                             "buflen", "getsockopt");
        SV *const result = sv_2mortal(newSV(buflen));
        socklen_t len = (socklen_t)buflen;
        if (getsockopt(s->fd, level, name, SvPVX(result), &len) < 0)
            bsd_die_errno(aTHX_ "getsockopt", errno, NULL);
        /* the option's real length, never more than we had room for */
        if (len > (socklen_t)buflen)
            len = (socklen_t)buflen;
        SvCUR_set(result, len);
        SvPVX(result)[len] = '\0';
        (void)SvPOK_only(result);
        return result;
    }
}

/* A string is passed as its bytes, anything else as a C int: the rule of
 * perl's own setsockopt.  (A boolean counts as the int it stands for.) */
void
bsd_sock_setsockopt(pTHX_ bsd_sock *s, int level, int name, SV *value)
{
    const void *buf;
    socklen_t len;
    int int_value;
    SvGETMAGIC(value);
#ifdef SvIsBOOL
    if (SvPOKp(value) && !SvROK(value) && !SvIsBOOL(value)) {
#else
    if (SvPOKp(value) && !SvROK(value)) {
#endif
        STRLEN bytes_len;
        buf = bsd_bytes_nomg(aTHX_ value, &bytes_len);
        if (!buf)
            bsd_die_arg(aTHX_ "setsockopt", "Wide character in setsockopt");
        if (bytes_len > (STRLEN)INT_MAX)
            bsd_die_arg(aTHX_ "setsockopt", "option value is too long");
        len = (socklen_t)bytes_len;
    }
    else {
        IV iv = 0;
        if (bsd_parse_iv(aTHX_ value, INT_MIN, INT_MAX, &iv) != BSD_INT_OK)
            bsd_die_arg(aTHX_ "setsockopt",
                        "option value must be a byte string or an integer in %d..%d, got %" SVf,
                        INT_MIN, INT_MAX, SVfARG(bsd_describe(aTHX_ value)));
        int_value = (int)iv;
        buf = &int_value;
        len = sizeof int_value;
    }
    if (setsockopt(s->fd, level, name, buf, len) < 0)
        bsd_die_errno(aTHX_ "setsockopt", errno, NULL);
    s->gso = 0;     /* (a UDP option may change what send_many can do: ask again) */
}

/* --------------------------------------------------------- makefile */

/* makefile: a Perl filehandle on a dup of the fd, made the way perl makes
 * its own socket handles: separate input and output PerlIO streams on the
 * one fd (PerlIO counts the fd's users and closes it with the last), so
 * reading ahead never gets in the way of writing. */
SV *
bsd_sock_makefile(pTHX_ bsd_sock *s, SV *mode_sv, SV *bufsize_sv)
{
    bool want_read = TRUE, want_write = FALSE;
    bool unbuffered = FALSE;

    if (mode_sv) {
        /* 'r', 'w', 'rw' or 'r+', and one 'b' anywhere, which changes
         * nothing (a socket handle is bytes either way) */
        STRLEN len, i, kept = 0;
        const char *const mode = bsd_sv_to_bytes(aTHX_ mode_sv, &len, "mode", "makefile");
        char bare[3];
        bool had_b = FALSE;
        for (i = 0; i < len && kept <= 2; i++) {
            if (mode[i] == 'b' && !had_b)
                had_b = TRUE;
            else
                bare[kept++] = mode[i];
        }
        if (i < len || kept == 0 || kept > 2 || !(
                kept == 1 ? bare[0] == 'r' || bare[0] == 'w'
                          : bare[0] == 'r' && (bare[1] == 'w' || bare[1] == '+')))
            bsd_die_arg(aTHX_ "makefile",
                        "mode must be 'r', 'w', 'rw' or 'r+' (with an optional 'b'), got %" SVf,
                        SVfARG(bsd_describe(aTHX_ mode_sv)));
        want_read = bare[0] == 'r';
        want_write = bare[0] == 'w' || kept == 2;
    }
    /* bufsize: undef or -1 is PerlIO's own buffering, 0 is none; PerlIO
     * has no per-handle buffer size, so a positive one means buffered */
    if (bufsize_sv) {
        SvGETMAGIC(bufsize_sv);
        if (SvOK(bufsize_sv))
            unbuffered = bsd_iv_nomg(aTHX_ bufsize_sv, -1, IV_MAX,
                                      "bufsize", "makefile") == 0;
    }
    return bsd_handle_from_fd(aTHX_ bsd_dup_cloexec(aTHX_ s->fd, "makefile"),
                              want_read, want_write, unbuffered, "makefile");
}

/* A Perl filehandle that owns fd, made the way perl makes its own socket
 * handles: separate input and output PerlIO streams on the one fd
 * (PerlIO counts the fd's users and closes it with the last), so reading
 * ahead never gets in the way of writing.  Always binary, whatever "use
 * open" says around the caller.  NULL (fd closed, errno set) if PerlIO
 * cannot take the fd. */
SV *
bsd_try_handle_from_fd(pTHX_ int fd, bool want_read, bool want_write, bool unbuffered)
{
    const char *const layers = unbuffered ? ":unix" : ":raw";
    PerlIO *in = NULL, *out = NULL;
    /* an anonymous glob, as open(my $fh, ...) makes */
    GV *const gv = MUTABLE_GV(newSV_type(SVt_NULL));
    SV *const handle = sv_2mortal(newRV_noinc(MUTABLE_SV(gv)));
    IO *io;
    gv_init_pvn(gv, gv_stashpvs(BSD_SOCKET_CLASS, GV_ADD), "__ANONIO__", 10, 0);
    io = GvIOn(gv);

    if (want_read && !(in = PerlIO_openn(aTHX_ layers, "r", fd, 0, 0, NULL, 0, NULL))) {
        const int err = errno;
        (void)close(fd);
        errno = err;
        return NULL;
    }
    if (want_write && !(out = PerlIO_openn(aTHX_ layers, "w", fd, 0, 0, NULL, 0, NULL))) {
        const int err = errno;
        if (in)
            (void)PerlIO_close(in);  /* the last user of fd closes it */
        else
            (void)close(fd);
        errno = err;
        return NULL;
    }
    IoIFP(io) = in ? in : out;
    IoOFP(io) = out;
    IoTYPE(io) = in && out ? IoTYPE_SOCKET : in ? IoTYPE_RDONLY : IoTYPE_WRONLY;
    if (unbuffered && out)
        IoFLAGS(io) |= IOf_FLUSH;
    return handle;
}

/* The same, dying (op) if it cannot. */
SV *
bsd_handle_from_fd(pTHX_ int fd, bool want_read, bool want_write, bool unbuffered,
                   const char *op)
{
    SV *const handle = bsd_try_handle_from_fd(aTHX_ fd, want_read, want_write, unbuffered);
    if (!handle)
        bsd_die_errno(aTHX_ op, errno, NULL);
    return handle;
}

/* ------------------------------------------------------------ fds */

/* An item (SPEC 7: what select, the poller, sendfile and send_fds take):
 * a socket object, a Perl handle (a glob, a reference to one, an IO
 * object) or a plain fd number.  Returns its fd and says which it is;
 * get-magic has run.  quiet: a closed socket or handle gives -1 instead
 * of dying EBADF (so it can still be unregistered). */
static int
S_item_fd(pTHX_ SV *sv, bsd_item_info *info, const char *op, bool quiet)
{
    IO *io = NULL;
    IV fd = -1;
    info->sock = NULL;
    if (SvROK(sv)) {
        SV *const target = SvRV(sv);
        bsd_sock *const s = bsd_sock_or_null(aTHX_ sv);
        if (s) {
            info->kind = BSD_ITEM_SOCK;
            info->sock = s;
            if (info->sock->fd < 0 && !quiet)
                bsd_die_closed(aTHX_ op);
            return info->sock->fd;
        }
        if (isGV_with_GP(target))
            io = GvIO(MUTABLE_GV(target));
        else if (SvTYPE(target) == SVt_PVIO)
            io = MUTABLE_IO(target);
        else
            bsd_die_arg(aTHX_ op, "expected a socket, a file handle or a fd, got %" SVf,
                        SVfARG(bsd_describe(aTHX_ sv)));
    }
    else if (isGV_with_GP(sv))
        io = GvIO(MUTABLE_GV(sv));
    else if (bsd_parse_iv(aTHX_ sv, 0, INT_MAX, &fd) != BSD_INT_OK)
        bsd_die_arg(aTHX_ op, "fd must be an integer in 0..%d or a file handle, got %" SVf,
                    INT_MAX, SVfARG(bsd_describe(aTHX_ sv)));
    else {
        info->kind = BSD_ITEM_FD;
        return (int)fd;
    }

    info->kind = BSD_ITEM_HANDLE;
    if (io && IoIFP(io))
        fd = PerlIO_fileno(IoIFP(io));
    if (fd < 0 && !quiet)
        bsd_die_errno(aTHX_ op, EBADF, NULL);   /* a handle that is not open */
    return (int)(fd < 0 ? -1 : fd);
}

int
bsd_item_fd_nomg(pTHX_ SV *sv, bsd_item_info *info, const char *op)
{
    return S_item_fd(aTHX_ sv, info, op, FALSE);
}

int
bsd_item_fd_quiet_nomg(pTHX_ SV *sv, bsd_item_info *info, const char *op)
{
    return S_item_fd(aTHX_ sv, info, op, TRUE);
}

/* The fd a handle item has now (-1 when closed), running no Perl code. */
int
bsd_item_current_fd(pTHX_ SV *handle)
{
    SV *const target = SvROK(handle) ? SvRV(handle) : handle;
    IO *io = NULL;
    if (isGV_with_GP(target))
        io = GvIO(MUTABLE_GV(target));
    else if (SvTYPE(target) == SVt_PVIO)
        io = MUTABLE_IO(target);
    return io && IoIFP(io) ? PerlIO_fileno(IoIFP(io)) : -1;
}

/* An item a call goes on using while Perl code may run (a signal handler
 * during a wait): taken once, its get-magic run, and held.  Its fd is
 * looked up when the call starts (bsd_held_fd_open, running no Perl code),
 * and again after any Perl code ran (bsd_held_fd_again), which may have
 * closed it, or put another file under its number: the number alone
 * would then read or pass that other file. */
void
bsd_held_fd_take(pTHX_ SV *sv, bsd_held_fd *h)
{
    SvGETMAGIC(sv);
    h->item = sv_2mortal(newSVsv_nomg(sv));
    h->fd = -1;
}

int
bsd_held_fd_open(pTHX_ bsd_held_fd *h, const char *op)
{
    bsd_item_info info;
    struct stat st;
    const int fd = S_item_fd(aTHX_ h->item, &info, op, FALSE);
    if (fstat(fd, &st) < 0)
        bsd_die_errno(aTHX_ op, errno, NULL);       /* EBADF: no such fd */
    h->fd = fd;
    h->dev = st.st_dev;
    h->ino = st.st_ino;
    return fd;
}

int
bsd_held_fd_again(pTHX_ bsd_held_fd *h, const char *op)
{
    bsd_item_info info;
    struct stat st;
    const int fd = S_item_fd(aTHX_ h->item, &info, op, TRUE);
    if (fd < 0 || fstat(fd, &st) < 0 || st.st_dev != h->dev || st.st_ino != h->ino)
        return -1;
    h->fd = fd;
    return fd;
}

int
bsd_fd_of(pTHX_ SV *sv, const char *op)
{
    bsd_item_info info;
    SvGETMAGIC(sv);
    return S_item_fd(aTHX_ sv, &info, op, FALSE);
}
