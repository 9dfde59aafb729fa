/*
 * lookup.c - name lookups with a deadline.
 *
 * getaddrinfo cannot be timed out or interrupted: glibc waits for a DNS
 * server as long as resolv.conf says, and Perl's signal handlers cannot
 * run meanwhile (perl defers them to a safe point, and a blocked C call
 * is none).  So a name lookup runs in a thread of its own, which never
 * touches Perl, while the caller waits for it in the one waiting loop
 * (call.c's bsd_wait): with its deadline, and with Perl's handlers
 * running.  A caller that gives up (its time ran out, a handler died)
 * lets go of the lookup; the thread finishes it on its own, and whichever
 * of the two lets go last frees everything: the result, the pipe, the
 * copies of the names.  A numeric host never starts a thread, and the
 * thread is plain POSIX, so a perl without threads has lookups with a
 * deadline too.
 */
#define PERL_NO_GET_CONTEXT
#include "EXTERN.h"
#include "perl.h"
#include "XSUB.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bsdsocket.h"

/* (getaddrinfo needs little stack; a thread's default 8 MiB would make a
 * thousand lookups that a dead DNS server holds up cost 8 GiB of address
 * space) */
#define BSD_LOOKUP_STACK (256 * 1024)

typedef struct {
    int              refs;      /* the caller's and the thread's */
    int              done[2];   /* a pipe: the thread writes a byte when it is done */
    char            *host;      /* copies: the caller's may be gone */
    char            *service;
    struct addrinfo  hints;
    int              rc;        /* getaddrinfo's answer */
    int              sys_errno; /* errno after it, for EAI_SYSTEM */
    struct addrinfo *res;
} bsd_lookup;

static void
S_lookup_free(bsd_lookup *lk)
{
    if (lk->res)
        freeaddrinfo(lk->res);
    if (lk->done[0] >= 0)
        (void)close(lk->done[0]);
    if (lk->done[1] >= 0)
        (void)close(lk->done[1]);
    free(lk->host);
    free(lk->service);
    free(lk);
}

static void
S_let_go(bsd_lookup *lk)
{
    if (__atomic_sub_fetch(&lk->refs, 1, __ATOMIC_ACQ_REL) == 0)
        S_lookup_free(lk);
}

static void *
S_lookup_thread(void *arg)
{
    bsd_lookup *const lk = (bsd_lookup *)arg;
    ssize_t w;
    lk->rc = getaddrinfo(lk->host, lk->service, &lk->hints, &lk->res);
    lk->sys_errno = errno;
    do
        w = write(lk->done[1], "", 1);
    while (w < 0 && errno == EINTR);
    S_let_go(lk);
    return NULL;
}

/* The caller's end, however it leaves (a die unwinds through here). */
static void
S_caller_lets_go(pTHX_ void *lk)
{
    PERL_UNUSED_CONTEXT;
    S_let_go((bsd_lookup *)lk);
}

static char *
S_copy(const char *s, bool *failed)
{
    char *copy;
    if (!s)
        return NULL;
    copy = strdup(s);
    if (!copy)
        *failed = TRUE;
    return copy;
}

/* A lookup in a thread: NULL if one cannot be started (no memory, no
 * thread), and the caller asks in its own thread instead. */
static bsd_lookup *
S_start(const char *host, const char *service, const struct addrinfo *hints)
{
    bsd_lookup *lk = (bsd_lookup *)calloc(1, sizeof *lk);
    bool failed = FALSE;
    pthread_attr_t attr;
    pthread_t thread;
    sigset_t all, was;
    int err;
    if (!lk)
        return NULL;
    lk->done[0] = lk->done[1] = -1;
    lk->host = S_copy(host, &failed);
    lk->service = S_copy(service, &failed);
    lk->hints = *hints;
    lk->refs = 2;
    if (failed || pipe(lk->done) < 0) {
        S_lookup_free(lk);
        return NULL;
    }
    (void)bsd_set_fd_cloexec(lk->done[0], TRUE);
    (void)bsd_set_fd_cloexec(lk->done[1], TRUE);
    if (pthread_attr_init(&attr) != 0) {
        S_lookup_free(lk);
        return NULL;
    }
    (void)pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    (void)pthread_attr_setstacksize(&attr, BSD_LOOKUP_STACK);
    /* no signal goes to the thread: perl's handlers must run in a thread
     * of perl's (the new thread takes this mask) */
    sigfillset(&all);
    (void)pthread_sigmask(SIG_SETMASK, &all, &was);
    err = pthread_create(&thread, &attr, S_lookup_thread, lk);
    (void)pthread_sigmask(SIG_SETMASK, &was, NULL);
    (void)pthread_attr_destroy(&attr);
    if (err != 0) {
        S_lookup_free(lk);
        return NULL;
    }
    return lk;
}

/* A host getaddrinfo takes without asking anyone: a numeric address (or
 * none: the local or wildcard one).  Then its answer; else EAI_NONAME. */
static int
S_numeric(const char *host, const char *service, const struct addrinfo *hints,
          struct addrinfo **res)
{
    struct addrinfo numeric = *hints;
    if (!host)
        return getaddrinfo(host, service, hints, res);
    numeric.ai_flags |= AI_NUMERICHOST;
    return getaddrinfo(host, service, &numeric, res);
}

int
bsd_getaddrinfo_timed(pTHX_ const char *host, const char *service,
                      const struct addrinfo *hints, struct addrinfo **res,
                      double timeout, const char *op)
{
    bsd_lookup *lk;
    struct pollfd pfd;
    bool scoped;
    double deadline;
    int rc, ready, sys_errno;

    *res = NULL;
    rc = S_numeric(host, service, hints, res);
    if (rc != EAI_NONAME || (hints->ai_flags & AI_NUMERICHOST))
        return rc;
    lk = S_start(host, service, hints);
    if (!lk)
        return getaddrinfo(host, service, hints, res);
    ENTER;
    SAVEDESTRUCTOR_X(S_caller_lets_go, lk);
    pfd.fd = lk->done[0];
    pfd.events = POLLIN;
    pfd.revents = 0;
    deadline = bsd_wait_deadline(aTHX_ timeout, &scoped);
    ready = bsd_poll_wait(aTHX_ &pfd, 1, deadline, NULL, op);
    if (ready <= 0)
        bsd_die_timeout(aTHX_ op);      /* (the LEAVE of the die lets go) */
    rc = lk->rc;
    sys_errno = lk->sys_errno;          /* (the LEAVE may free the lookup) */
    *res = lk->res;                     /* (the caller's to free now) */
    lk->res = NULL;
    LEAVE;
    errno = rc == EAI_SYSTEM ? sys_errno : 0;
    return rc;
}
