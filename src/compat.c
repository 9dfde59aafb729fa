/*
 * compat.c - the system calls some platforms do not have, and what
 * stands in for them there.
 *
 * Makefile.PL probes the platform and writes src/bsd-config.h: one
 * BSD_HAVE_<thing> per call or flag (BSDSOCKET_PORTABLE=1 in its
 * environment leaves them all out, so that Linux CI runs every stand-in
 * here).  Each function below uses the platform's call where it has one
 * and the portable way elsewhere; the callers never ask which.
 */
#define PERL_NO_GET_CONTEXT
#include "EXTERN.h"
#include "perl.h"
#include "XSUB.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>

#include "bsdsocket.h"

/* ------------------------------------------------ descriptor flags */

/* SO_NOSIGPIPE, where it stands in for MSG_NOSIGNAL: every socket the
 * module makes or adopts has it set (see BSD_SEND). */
static int
S_no_sigpipe_option(int fd)
{
#if !defined(BSD_HAVE_MSG_NOSIGNAL) && defined(BSD_HAVE_SO_NOSIGPIPE)
    const int on = 1;
    return setsockopt(fd, SOL_SOCKET, SO_NOSIGPIPE, &on, sizeof on);
#else
    PERL_UNUSED_ARG(fd);
    return 0;
#endif
}

/* What every new fd gets: close-on-exec and the blocking mode asked for,
 * where the call could not take them as flags (flags_given FALSE: an
 * exec in another thread can slip in between, and the platform leaves no
 * other way), and SO_NOSIGPIPE.  The fd, or -1 with errno and the fd
 * closed. */
static int
S_new_fd(int fd, bool flags_given, bool nonblocking)
{
    if ((!flags_given && (bsd_set_fd_cloexec(fd, TRUE) < 0
                          || bsd_set_fd_nonblocking(fd, nonblocking) < 0))
        || S_no_sigpipe_option(fd) < 0) {
        const int err = errno;
        (void)close(fd);
        errno = err;
        return -1;
    }
    return fd;
}

#ifdef BSD_HAVE_SOCK_FLAGS
#  define BSD_TYPE_FLAGS(nonblocking) (SOCK_CLOEXEC | ((nonblocking) ? SOCK_NONBLOCK : 0))
#else
#  define BSD_TYPE_FLAGS(nonblocking) 0
#endif

/* The SOCK_NONBLOCK and SOCK_CLOEXEC a caller may have put in a type
 * (where the platform has them): they go through the fd's flags here. */
int
bsd_type_without_flags(int type)
{
    return type & ~(BSD_SOCK_NONBLOCK | BSD_SOCK_CLOEXEC);
}

/* socket(2), close-on-exec, non-blocking if asked (or if the type says
 * SOCK_NONBLOCK). */
int
bsd_socket(int family, int type, int proto, bool nonblocking)
{
    int fd;
    nonblocking = nonblocking || (type & BSD_SOCK_NONBLOCK);
    fd = socket(family, bsd_type_without_flags(type) | BSD_TYPE_FLAGS(nonblocking), proto);
    if (fd < 0)
        return -1;
    return S_new_fd(fd, BSD_TYPE_FLAGS(nonblocking) != 0, nonblocking);
}

/* socketpair(2), the same way. */
int
bsd_socketpair(int family, int type, int proto, bool nonblocking, int fds[2])
{
    nonblocking = nonblocking || (type & BSD_SOCK_NONBLOCK);
    if (socketpair(family, bsd_type_without_flags(type) | BSD_TYPE_FLAGS(nonblocking),
                   proto, fds) < 0)
        return -1;
    if (S_new_fd(fds[0], BSD_TYPE_FLAGS(nonblocking) != 0, nonblocking) < 0) {
        const int err = errno;
        (void)close(fds[1]);
        errno = err;
        return -1;
    }
    if (S_new_fd(fds[1], BSD_TYPE_FLAGS(nonblocking) != 0, nonblocking) < 0) {
        const int err = errno;
        (void)close(fds[0]);
        errno = err;
        return -1;
    }
    return 0;
}

/* accept(2) giving a close-on-exec fd, non-blocking if asked.  (BSD's
 * accept hands on the listener's O_NONBLOCK, Linux's does not: the
 * stand-in says what is wanted either way.) */
int
bsd_accept(int fd, struct sockaddr *sa, socklen_t *len, bool nonblocking)
{
#ifdef BSD_HAVE_ACCEPT4
    const int conn = accept4(fd, sa, len, SOCK_CLOEXEC | (nonblocking ? SOCK_NONBLOCK : 0));
    return conn < 0 ? -1 : S_new_fd(conn, TRUE, nonblocking);
#else
    const int conn = accept(fd, sa, len);
    return conn < 0 ? -1 : S_new_fd(conn, FALSE, nonblocking);
#endif
}

/* A socket adopted from elsewhere (fromfd) gets what bsd_socket gives. */
int
bsd_adopted_fd_setup(int fd)
{
    return S_no_sigpipe_option(fd);
}

/* ------------------------------------------------------------ batches */

int
bsd_sendmmsg(int fd, bsd_mmsghdr *vec, unsigned count, int flags)
{
    int r;
#ifdef BSD_HAVE_MMSG
    BSD_SEND(r, sendmmsg(fd, vec, count, flags));
#else
    for (r = 0; (unsigned)r < count; r++) {
        ssize_t n;
        BSD_SEND(n, sendmsg(fd, &vec[r].msg_hdr, flags));
        if (n < 0)
            return r ? r : -1;      /* (the next call reports the error) */
        vec[r].msg_len = (unsigned)n;
    }
#endif
    return r;
}

/* (the callers always want MSG_WAITFORONE's rule: the loop has it) */
int
bsd_recvmmsg(int fd, bsd_mmsghdr *vec, unsigned count, int flags)
{
#ifdef BSD_HAVE_MMSG
    return recvmmsg(fd, vec, count, flags | MSG_WAITFORONE, NULL);
#else
    unsigned i;
    for (i = 0; i < count; i++) {
        ssize_t n;
        if (i > 0) {
            /* After the first: only what is queued, and never an error
             * the socket holds (ICMP's ECONNREFUSED, say), which recvmsg
             * would hand over and clear: recvmmsg leaves it for the next
             * call, and so does this, by asking poll, which clears
             * nothing. */
            const short ready = bsd_fd_ready_now(fd, POLLIN);
            if ((ready & POLLERR) || !(ready & POLLIN))
                break;
        }
        n = recvmsg(fd, &vec[i].msg_hdr, i ? flags | MSG_DONTWAIT : flags);
        if (n < 0) {
            if (i == 0)
                return -1;
            break;
        }
        vec[i].msg_len = (unsigned)n;
    }
    return (int)i;
#endif
}

/* ------------------------------------------------------------ SIGPIPE */

/* (a perl without threads need not link the threads library) */
#ifdef USE_ITHREADS
#  define BSD_SIGMASK pthread_sigmask
#else
#  define BSD_SIGMASK sigprocmask
#endif

/* A send to a peer that went away raises SIGPIPE, whose default kills
 * perl; the module's callers get EPIPE instead.  Where no flag or socket
 * option says so (sendfile(2) has neither anywhere), the signal is
 * blocked for this thread around the call, and the one the call raised
 * is taken back: only when the call says it raised one (EPIPE, or for
 * sendfile a short count), and never one that was pending before.  A
 * SIGPIPE someone else sends meanwhile is delivered when the call ends. */
void
bsd_sigpipe_hold(bsd_sigpipe_held *h)
{
    sigset_t pending;
    const int err = errno;
    sigemptyset(&h->pipe_only);
    sigaddset(&h->pipe_only, SIGPIPE);
    h->was_pending = sigpending(&pending) == 0 && sigismember(&pending, SIGPIPE);
    BSD_SIGMASK(SIG_BLOCK, &h->pipe_only, &h->was_blocked);
    errno = err;
}

void
bsd_sigpipe_release(bsd_sigpipe_held *h, bool raised)
{
    sigset_t pending;
    const int err = errno;
    if (raised && !h->was_pending && sigpending(&pending) == 0
        && sigismember(&pending, SIGPIPE)) {
#ifdef BSD_HAVE_SIGTIMEDWAIT
        static const struct timespec no_wait = { 0, 0 };
        (void)sigtimedwait(&h->pipe_only, NULL, &no_wait);
#else
        /* (OpenBSD: the SIGPIPE the call raised is this thread's, and
         * blocked here, so it is still pending: sigwait returns at once) */
        int sig;
        (void)sigwait(&h->pipe_only, &sig);
#endif
    }
    BSD_SIGMASK(SIG_SETMASK, &h->was_blocked, NULL);
    errno = err;
}
