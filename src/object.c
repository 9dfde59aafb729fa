/*
 * object.c - the socket object: making it, its lifetime, its fd's mode.
 *
 * The object is a blessed scalar whose ext magic holds a bsd_sock (see
 * bsdsocket.h).  Freeing the scalar closes the fd (S_sock_free); cloning
 * it for a new Perl thread dups the fd, so each thread owns a descriptor
 * of its own and nothing is ever closed twice (S_sock_dup).  This file
 * makes no call that can block: those go through the driver (call.c).
 */
#define PERL_NO_GET_CONTEXT
#include "EXTERN.h"
#include "perl.h"
#include "XSUB.h"

#include <errno.h>
#include <fcntl.h>
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

/* ------------------------------------------------------- timeouts */

/* The default timeout of every socket made from now on; one per process,
 * as in CPython. */
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

int
bsd_default_nonblock_flag(void)
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

/* (see BSD_NOWAIT: another handle on the same open file description may
 * have made the fd blocking since settimeout made it non-blocking) */
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

void
bsd_sock_fill(bsd_sock *s, int fd, int family, int type, int proto)
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
    const int fd = socket(family, type | SOCK_CLOEXEC | bsd_default_nonblock_flag(), proto);
    if (fd < 0)
        bsd_die_errno(aTHX_ "socket", errno, NULL);
    bsd_sock_fill(s, fd, family, type, proto);
    return obj;
}

void
bsd_sock_pair(pTHX_ HV *stash, int family, int type, int proto, SV **a, SV **b)
{
    bsd_sock *sa, *sb;
    int fds[2];
    *a = bsd_sock_new(aTHX_ stash, &sa);
    *b = bsd_sock_new(aTHX_ stash, &sb);
    if (socketpair(family, type | SOCK_CLOEXEC | bsd_default_nonblock_flag(), proto, fds) < 0)
        bsd_die_errno(aTHX_ "socketpair", errno, NULL);
    bsd_sock_fill(sa, fds[0], family, type, proto);
    bsd_sock_fill(sb, fds[1], family, type, proto);
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
    bsd_sock_fill(s, bsd_dup_cloexec(aTHX_ fd, "fromfd"), f, t, p);
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

