/*
 * object.c - the socket object: making it, its lifetime, its fd's mode.
 *
 * The object is a blessed glob: its ext magic holds the bsd_sock (see
 * bsdsocket.h), its IO slot the handle on the socket (handle.c).  The
 * struct owns the fd, and both the magic and the handle's layers hold it
 * (refcnt): whichever goes last frees it, and closing the socket either
 * way closes the fd once.  A new Perl thread's copy gets a struct and a
 * descriptor of its own (bsd_sock_clone_struct).  This file makes no call
 * that can block: those go through the driver (call.c).
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
    /* (at the end, perl may have let go of the per-interpreter data
     * before the last handles close; nobody is left to ask) */
    if (PL_phase != PERL_PHASE_DESTRUCT) {
        dMY_CXT;
        MY_CXT.closes++;
    }
}

/* The socket takes fd.  It is counted in perl's own count of the users
 * of each fd, as its :unix layer counts them: a handle perl opens on the
 * same number (open($fh, '<&=', $sock), or the write side perl makes for
 * a dup of a socket handle) then leaves the fd open for the socket, and
 * the socket's close leaves it open for the handle. */
void
bsd_sock_take_fd(bsd_sock *s, int fd)
{
    s->fd = fd;
    if (fd >= 0)
        PerlIOUnix_refcnt_inc(fd);
}

/* The socket lets go of its fd (-1 from now on); TRUE if it was the last
 * user, and the fd should be closed. */
static bool
S_let_go(bsd_sock *s)
{
    const int fd = s->fd;
    s->fd = -1;
    bsd_gro_forget(s);          /* (datagrams of that fd's) */
    return PerlIOUnix_refcnt_dec(fd) == 0;
}

bsd_sock *
bsd_sock_struct_new(void)
{
    bsd_sock *s;
    Newxz(s, 1, bsd_sock);
    s->fd = -1;
    s->family = AF_UNSPEC;
    s->timeout = -1.0;
    s->refcnt = 1;
    return s;
}

void
bsd_sock_release(pTHX_ bsd_sock *s)
{
    if (--s->refcnt > 0)
        return;
    if (s->fd >= 0) {
        /* this may run while a die unwinds: keep that error's $! */
        const int saved_errno = errno;
        const int fd = s->fd;
        if (S_let_go(s))
            (void)close(fd);
        errno = saved_errno;
    }
    SvREFCNT_dec(s->last_peer);
    bsd_gro_forget(s);
    Safefree(s);
}

/* A new thread's copy of a socket: one struct for the object's magic and
 * its handle's layers alike (perl's clone table remembers it), on a
 * descriptor of its own, so nothing is ever closed twice. */
bsd_sock *
bsd_sock_clone_struct(pTHX_ bsd_sock *old, CLONE_PARAMS *param)
{
    bsd_sock *s = (bsd_sock *)ptr_table_fetch(PL_ptr_table, old);
    PERL_UNUSED_ARG(param);
    if (!s) {
        s = bsd_sock_struct_new();
        s->refcnt = 0;
        s->family = old->family;
        s->type = old->type;
        s->proto = old->proto;
        s->timeout = old->timeout;
        s->gso = old->gso;
        if (old->fd >= 0)   /* (-1, closed, if it fails) */
            bsd_sock_take_fd(s, fcntl(old->fd, F_DUPFD_CLOEXEC, 0));
        ptr_table_store(PL_ptr_table, old, s);
    }
    s->refcnt++;
    return s;
}

static int
S_sock_free(pTHX_ SV *sv, MAGIC *mg)
{
    bsd_sock *const s = (bsd_sock *)mg->mg_ptr;
    PERL_UNUSED_ARG(sv);
    if (s) {
        mg->mg_ptr = NULL;
        bsd_sock_release(aTHX_ s);
    }
    return 0;
}

static int
S_sock_dup(pTHX_ MAGIC *mg, CLONE_PARAMS *param)
{
    if (mg->mg_ptr)
        mg->mg_ptr = (char *)bsd_sock_clone_struct(aTHX_ (bsd_sock *)mg->mg_ptr, param);
    return 0;
}

/* `local` on a value aliased to the object would copy the magic into the
 * localized copy, and freeing that copy would release the struct under
 * the original: a localized copy gets no magic at all. */
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
    /* an anonymous glob, as open(my $fh, ...) makes */
    GV *const gv = MUTABLE_GV(newSV_type(SVt_NULL));
    SV *const rv = sv_2mortal(newRV_noinc(MUTABLE_SV(gv)));
    bsd_sock *const s = bsd_sock_struct_new();
    MAGIC *mg;
    gv_init_pvn(gv, stash, "__ANONIO__", 10, 0);
    mg = sv_magicext(MUTABLE_SV(gv), NULL, PERL_MAGIC_ext, &bsd_sock_vtbl, (const char *)s, 0);
    mg->mg_flags |= MGf_DUP | MGf_LOCAL;
    sv_bless(rv, stash);
    *out = s;
    return rv;
}

/* The socket has its fd now: open its handle (the glob's IO slot). */
void
bsd_sock_open_fd(pTHX_ SV *obj, bsd_sock *s, int fd, int family, int type, int proto,
                 const char *op)
{
    bsd_sock_fill(s, fd, family, type, proto);
    bsd_handle_open(aTHX_ MUTABLE_GV(SvRV(obj)), s, TRUE, TRUE, FALSE, op);
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

bool
bsd_default_nonblocking(void)
{
    return bsd_default_timeout == 0;
}

/* The fd's O_NONBLOCK says what getblocking says: set for a non-blocking
 * socket (timeout 0), clear for a blocking one, with a timeout or not.
 * The module's own calls do not depend on it (sends and receives pass
 * MSG_DONTWAIT, see BSD_NOWAIT; accept, connect and sendfile go
 * non-blocking for the call, see bsd_sock_nonblocking_call); it is for
 * the code that uses the fd itself, such as IO::Socket::SSL after
 * start_SSL, which a non-blocking fd would leave non-blocking. */
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

/* (the socket is held, and its fd touched only if it still has one: a
 * signal handler may have closed it, and its number may be another
 * file's by now) */
static void
S_blocking_again(pTHX_ void *sp)
{
    bsd_sock *const s = (bsd_sock *)sp;
    if (s->fd >= 0)
        (void)bsd_set_fd_nonblocking(s->fd, FALSE);
    bsd_sock_release(aTHX_ s);
}

/* accept, connect and sendfile have no per-call flag that keeps them from
 * blocking: a socket with a timeout makes its fd non-blocking for the
 * call (another handle on the same open file description may have
 * changed the flag, and a positive timeout keeps it clear).  Call inside
 * ENTER/LEAVE: the LEAVE puts a blocking fd back, unless `keep` (accept:
 * a listener is often shared, between the processes of a preforking
 * server say, and putting the flag back while another is between its
 * poll and its accept would leave that one blocked in the kernel). */
void
bsd_sock_nonblocking_call(pTHX_ bsd_sock *s, bool keep, const char *op)
{
    int flags;
    if (bsd_effective_timeout(aTHX_ s->timeout) < 0)
        return;
    if ((flags = fcntl(s->fd, F_GETFL)) < 0)
        bsd_die_errno(aTHX_ op, errno, NULL);
    if (flags & O_NONBLOCK)
        return;
    if (fcntl(s->fd, F_SETFL, flags | O_NONBLOCK) < 0)
        bsd_die_errno(aTHX_ op, errno, NULL);
    /* (a blocking socket that a scoped deadline made wait gets its
     * blocking fd back too, but for a listener: see above) */
    if (s->timeout != 0 && !keep) {
        s->refcnt++;
        SAVEDESTRUCTOR_X(S_blocking_again, s);
    }
}

void
bsd_sock_settimeout(pTHX_ bsd_sock *s, double timeout, const char *op)
{
    if (bsd_set_fd_nonblocking(s->fd, timeout == 0) < 0)
        bsd_die_errno(aTHX_ op, errno, NULL);
    s->timeout = timeout;
}

/* The fd's close-on-exec flag: set or cleared (set_inheritable, and
 * where a new fd could not get it as a flag, compat.c). */
int
bsd_set_fd_cloexec(int fd, bool cloexec)
{
    const int flags = fcntl(fd, F_GETFD);
    if (flags < 0)
        return -1;
    if (cBOOL(flags & FD_CLOEXEC) == cloexec)
        return 0;
    return fcntl(fd, F_SETFD, cloexec ? flags | FD_CLOEXEC : flags & ~FD_CLOEXEC);
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
    if (bsd_set_fd_cloexec(s->fd, !inheritable) < 0)
        bsd_die_errno(aTHX_ "set_inheritable", errno, NULL);
}

/* ----------------------------------------------------- making sockets */

void
bsd_sock_fill(bsd_sock *s, int fd, int family, int type, int proto)
{
    bsd_sock_take_fd(s, fd);
    s->family = family;
    s->type = bsd_type_without_flags(type);
    s->proto = proto;
    s->timeout = (type & BSD_SOCK_NONBLOCK) ? 0.0 : bsd_default_timeout;
    bsd_sock_options_changed(s);   /* (ask what the new fd has) */
}

SV *
bsd_sock_create(pTHX_ HV *stash, int family, int type, int proto)
{
    bsd_sock *s;
    SV *const obj = bsd_sock_new(aTHX_ stash, &s);
    const int fd = bsd_socket(family, type, proto, bsd_default_nonblocking());
    if (fd < 0)
        bsd_die_errno(aTHX_ "socket", errno, NULL);
    bsd_sock_open_fd(aTHX_ obj, s, fd, family, type, proto, "socket");
    return obj;
}

void
bsd_sock_pair(pTHX_ HV *stash, int family, int type, int proto, SV **a, SV **b)
{
    bsd_sock *sa, *sb;
    int fds[2];
    *a = bsd_sock_new(aTHX_ stash, &sa);
    *b = bsd_sock_new(aTHX_ stash, &sb);
    if (bsd_socketpair(family, type, proto, bsd_default_nonblocking(), fds) < 0)
        bsd_die_errno(aTHX_ "socketpair", errno, NULL);
    /* (each object owns its fd before anything else can die) */
    bsd_sock_fill(sa, fds[0], family, type, proto);
    bsd_sock_fill(sb, fds[1], family, type, proto);
    bsd_handle_open(aTHX_ MUTABLE_GV(SvRV(*a)), sa, TRUE, TRUE, FALSE, "socketpair");
    bsd_handle_open(aTHX_ MUTABLE_GV(SvRV(*b)), sb, TRUE, TRUE, FALSE, "socketpair");
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

/* The family of a socket fd: SO_DOMAIN where there is one, else the
 * family of its local address (which every socket has, bound or not). */
static int
S_family_of(pTHX_ int fd)
{
#ifdef BSD_HAVE_SO_DOMAIN
    return S_sockopt_int(aTHX_ fd, SO_DOMAIN, "fromfd");
#else
    bsd_addr local;
    Zero(&local, 1, bsd_addr);
    local.len = sizeof local.u;
    if (getsockname(fd, &local.u.sa, &local.len) < 0)
        bsd_die_errno(aTHX_ "fromfd", errno, NULL);
    /* (a name too short to hold a family: say so, as SO_DOMAIN would not) */
    if (local.len < offsetof(struct sockaddr, sa_family) + sizeof local.u.sa.sa_family)
        bsd_die_errno(aTHX_ "fromfd", EAFNOSUPPORT, NULL);
    return local.u.sa.sa_family;
#endif
}

/* Its protocol: SO_PROTOCOL where there is one; elsewhere 0, which
 * stands for the family's default, as socket() takes it. */
static int
S_protocol_of(pTHX_ int fd)
{
#ifdef BSD_HAVE_SO_PROTOCOL
    return S_sockopt_int(aTHX_ fd, SO_PROTOCOL, "fromfd");
#else
    PERL_UNUSED_ARG(fd);
    PERL_UNUSED_CONTEXT;
    return 0;
#endif
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
    const int f = family ? int_arg(family, "family", "fromfd") : S_family_of(aTHX_ fd);
    const int t = type ? int_arg(type, "type", "fromfd") : real_type;
    const int p = proto ? int_arg(proto, "proto", "fromfd") : S_protocol_of(aTHX_ fd);
    bsd_sock_fill(s, bsd_dup_cloexec(aTHX_ fd, "fromfd"), f, t, p);
    if (bsd_adopted_fd_setup(s->fd) < 0)
        bsd_die_errno(aTHX_ "fromfd", errno, NULL);
    /* the dup shares the fd's blocking mode (and so does the caller's fd):
     * a default timeout of 0 makes it non-blocking; without a default, a
     * non-blocking fd makes a non-blocking socket */
    if (bsd_default_timeout == 0) {
        if (bsd_set_fd_nonblocking(s->fd, TRUE) < 0)
            bsd_die_errno(aTHX_ "fromfd", errno, NULL);
    }
    else if (bsd_default_timeout < 0 && (fcntl(s->fd, F_GETFL) & O_NONBLOCK))
        s->timeout = 0.0;
    bsd_handle_open(aTHX_ MUTABLE_GV(SvRV(obj)), s, TRUE, TRUE, FALSE, "fromfd");
    return obj;
}

/* dup: a new object on a close-on-exec dup of the fd, with the same
 * family, type, protocol and timeout. */
SV *
bsd_sock_dup(pTHX_ bsd_sock *s, SV *self)
{
    bsd_sock *copy;
    SV *const obj = bsd_sock_new(aTHX_ SvSTASH(SvRV(self)), &copy);
    bsd_sock_take_fd(copy, bsd_dup_cloexec(aTHX_ s->fd, "dup"));
    copy->family = s->family;
    copy->type = s->type;
    copy->proto = s->proto;
    copy->timeout = s->timeout;
    bsd_handle_open(aTHX_ MUTABLE_GV(SvRV(obj)), copy, TRUE, TRUE, FALSE, "dup");
    return obj;
}

/* Close the fd, once: 0, or the errno close(2) failed with.  Never
 * retried: after EINTR the fd is gone on Linux, and may already belong to
 * another thread.  ECONNRESET just means the peer was first. */
int
bsd_sock_close_fd(pTHX_ bsd_sock *s)
{
    const int fd = s->fd;
    if (fd < 0)
        return 0;                    /* closing twice is fine */
    S_count_close(aTHX);
    if (!S_let_go(s))                /* (first, so nothing touches a reused fd) */
        return 0;                    /* a handle perl opened on it still uses it */
    if (close(fd) < 0 && errno != EINTR && errno != ECONNRESET)
        return errno;
    return 0;
}

/* close: what was printed goes first (as far as it can), then the fd and
 * the handle; dies if close(2) itself failed. */
void
bsd_sock_close(pTHX_ SV *self, bsd_sock *s)
{
    GV *const gv = SvROK(self) && isGV_with_GP(SvRV(self)) ? MUTABLE_GV(SvRV(self)) : NULL;
    int err;
    /* (held: the flush may run a signal handler that drops the object) */
    if (gv)
        sv_2mortal(SvREFCNT_inc_simple_NN(MUTABLE_SV(gv)));
    s->refcnt++;
    if (gv)
        bsd_handle_flush(aTHX_ gv);
    err = bsd_sock_close_fd(aTHX_ s);
    if (gv)
        bsd_handle_close(aTHX_ gv);
    bsd_sock_release(aTHX_ s);
    if (err)
        bsd_die_errno(aTHX_ "close", err, NULL);
}

/* detach: what was printed goes first, then the fd is the caller's, and
 * the object (and its handle) close nothing. */
int
bsd_sock_detach(pTHX_ SV *self, bsd_sock *s)
{
    GV *const gv = SvROK(self) && isGV_with_GP(SvRV(self)) ? MUTABLE_GV(SvRV(self)) : NULL;
    int fd;
    if (gv)
        sv_2mortal(SvREFCNT_inc_simple_NN(MUTABLE_SV(gv)));
    s->refcnt++;
    if (gv)
        bsd_handle_flush(aTHX_ gv);
    fd = s->fd;
    if (fd >= 0) {
        (void)S_let_go(s);          /* the caller's now: never closed here */
        S_count_close(aTHX);
    }
    if (gv)
        bsd_handle_close(aTHX_ gv);
    bsd_sock_release(aTHX_ s);
    return fd;
}
