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

/* Close-on-exec, and O_NONBLOCK if asked, on a new fd: where the calls
 * cannot take them as flags.  (Another thread's fork and exec can slip
 * in between: the platform leaves no other way.) */
#if !defined(BSD_HAVE_SOCK_FLAGS) || !defined(BSD_HAVE_ACCEPT4) \
    || !defined(BSD_HAVE_MSG_CMSG_CLOEXEC)
static int
S_set_fd_flags(int fd, bool nonblocking)
{
    const int fd_flags = fcntl(fd, F_GETFD);
    if (fd_flags < 0 || fcntl(fd, F_SETFD, fd_flags | FD_CLOEXEC) < 0)
        return -1;
    return nonblocking ? bsd_set_fd_nonblocking(fd, TRUE) : 0;
}
#endif

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

/* A new fd failed its setup: close it, keeping the error. */
static int
S_setup_failed(int fd)
{
    const int err = errno;
    (void)close(fd);
    errno = err;
    return -1;
}

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
    type = bsd_type_without_flags(type);
#ifdef BSD_HAVE_SOCK_FLAGS
    fd = socket(family, type | SOCK_CLOEXEC | (nonblocking ? SOCK_NONBLOCK : 0), proto);
    if (fd < 0)
        return -1;
#else
    fd = socket(family, type, proto);
    if (fd < 0)
        return -1;
    if (S_set_fd_flags(fd, nonblocking) < 0)
        return S_setup_failed(fd);
#endif
    if (S_no_sigpipe_option(fd) < 0)
        return S_setup_failed(fd);
    return fd;
}

/* socketpair(2), the same way. */
int
bsd_socketpair(int family, int type, int proto, bool nonblocking, int fds[2])
{
    int i;
    nonblocking = nonblocking || (type & BSD_SOCK_NONBLOCK);
    type = bsd_type_without_flags(type);
#ifdef BSD_HAVE_SOCK_FLAGS
    if (socketpair(family, type | SOCK_CLOEXEC | (nonblocking ? SOCK_NONBLOCK : 0),
                   proto, fds) < 0)
        return -1;
#else
    if (socketpair(family, type, proto, fds) < 0)
        return -1;
#endif
    for (i = 0; i < 2; i++) {
        if (
#ifndef BSD_HAVE_SOCK_FLAGS
            S_set_fd_flags(fds[i], nonblocking) < 0 ||
#endif
            S_no_sigpipe_option(fds[i]) < 0) {
            const int err = errno;
            (void)close(fds[0]);
            (void)close(fds[1]);
            errno = err;
            return -1;
        }
    }
    return 0;
}

/* accept(2) giving a close-on-exec fd, non-blocking if asked. */
int
bsd_accept(int fd, struct sockaddr *sa, socklen_t *len, bool nonblocking)
{
    int conn;
#ifdef BSD_HAVE_ACCEPT4
    conn = accept4(fd, sa, len, SOCK_CLOEXEC | (nonblocking ? SOCK_NONBLOCK : 0));
    if (conn < 0)
        return -1;
#else
    conn = accept(fd, sa, len);
    if (conn < 0)
        return -1;
    /* (BSD's accept hands on the listener's O_NONBLOCK; Linux's does not:
     * say what is wanted either way) */
    if (S_set_fd_flags(conn, FALSE) < 0 || bsd_set_fd_nonblocking(conn, nonblocking) < 0)
        return S_setup_failed(conn);
#endif
    if (S_no_sigpipe_option(conn) < 0)
        return S_setup_failed(conn);
    return conn;
}

/* A socket adopted from elsewhere (fromfd) gets what bsd_socket gives. */
int
bsd_adopted_fd_setup(int fd)
{
    return S_no_sigpipe_option(fd);
}

/* The fds an SCM_RIGHTS message brought, close-on-exec: where recvmsg
 * cannot take MSG_CMSG_CLOEXEC.  Returns 0, or -1 with errno. */
int
bsd_received_fds_setup(const int *fds, size_t count)
{
#ifdef BSD_HAVE_MSG_CMSG_CLOEXEC
    PERL_UNUSED_ARG(fds);
    PERL_UNUSED_ARG(count);
    return 0;
#else
    size_t i;
    int failed = 0;
    for (i = 0; i < count; i++)
        if (S_set_fd_flags(fds[i], FALSE) < 0)
            failed = errno;
    if (failed)
        errno = failed;
    return failed ? -1 : 0;
#endif
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
