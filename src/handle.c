/*
 * handle.c - a socket is a Perl filehandle: the PerlIO layer under it.
 *
 * A socket object is a blessed glob whose IO slot holds two PerlIO
 * streams, one for reading and one for writing, as perl keeps them for
 * its own sockets.  Each has one layer, this one: a buffered layer (the
 * fields of perl's own buffer layer, so that readline scans our buffer in
 * place) whose reads and writes are socket calls through the driver
 * (call.c), with the socket's rules: its timeout, Perl's signal handlers
 * on EINTR, no SIGPIPE.  The layer has no fd of its own: it asks the
 * socket (bsd_sock), which owns the fd, so that closing either way
 * closes the fd once.  The bytes the read side took ahead are where
 * recv, recvfrom, recv_into, recvmsg and sysread look first
 * (bsd_take_buffered).
 *
 * sysread and syswrite skip perl's layers and use the fd directly; for
 * code compiled after BSDSocket is loaded, their ops are pointed at
 * versions that do what the layer does (the rest go to perl's own).
 */
#define PERL_NO_GET_CONTEXT
#include "EXTERN.h"
#include "perl.h"
#include "XSUB.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "bsdsocket.h"

/* (struct bsd_layer is in bsdsocket.h.)  The read side's buffer holds
 * bytes received and not yet read; the write side's, bytes printed and
 * not yet sent. */
typedef struct bsd_layer bsd_layer;

PERLIO_FUNCS_DECL(bsd_perlio_layer);

#define BSD_LAYER_BUFSIZ 65536

#define S_layer(f) PerlIOSelf(f, bsd_layer)

/* perl keeps a PerlIO's lock count in its head's flags (perlio.c's
 * PerlIO_lockcnt): while it is not 0, closing the handle only marks its
 * layers cleared, and leaves freeing them to whoever holds the lock. */
#define S_lockcnt(f) (((PerlIOl *)(f))->head->flags)

/* --------------------------------------------------- the call, in a layer */

/* A layer's socket call runs Perl's signal handlers in the middle, as
 * perl's own :unix layer does: with the handle locked, so that a handler
 * that closes it cannot free the layer under us.  If one did, the call
 * ends EBADF, and the layers it cleared are freed when the lock goes. */
typedef struct {
    PerlIO *f;
    bool    locked;
    bool    cleared;        /* a handler closed the handle */
} bsd_layer_call;

/* The lock's end: free what a handler cleared meanwhile (perl's own
 * layers do the same after running handlers). */
static void
S_unlock(pTHX_ void *fp)
{
    PerlIO *const f = (PerlIO *)fp;
    PERL_UNUSED_CONTEXT;
    if (--S_lockcnt(f) == 0)
        while (PerlIOValid(f) && (PerlIOBase(f)->flags & PERLIO_F_CLEARED)) {
            PerlIOl *const l = *f;
            *f = l->next;
            Safefree(l);
        }
}

/* A call of this handle is under way, and Perl code runs in the middle of
 * it (it took the lock before any did): a handler printing or reading
 * the same handle.  Its writes only add to the buffer, its flushes wait
 * for the call's, and its reads fail (EBUSY): the call's buffer is in
 * use. */
#define S_busy(f) (S_lockcnt(f) > 0)

/* Before Perl code runs: lock the handle (the driver holds the socket). */
static void
S_layer_guard(pTHX_ bsd_call *c)
{
    bsd_layer_call *const lc = (bsd_layer_call *)c->ctx;
    if (!lc->locked) {
        lc->locked = TRUE;
        S_lockcnt(lc->f)++;
        SAVEDESTRUCTOR_X(S_unlock, lc->f);
    }
}

/* After it ran: is the handle still there? */
static void
S_layer_recheck(pTHX_ bsd_call *c)
{
    bsd_layer_call *const lc = (bsd_layer_call *)c->ctx;
    PERL_UNUSED_CONTEXT;
    if (PerlIOBase(lc->f)->flags & PERLIO_F_CLEARED) {
        lc->cleared = TRUE;
        c->stop = EBADF;
    }
}

/* Run the call: what it returned (-1: failed, the errno in c->err), or
 * BSD_LAYER_CLOSED (errno EBADF) if a handler closed the handle
 * meanwhile: then the caller's layer is gone, and must not be touched. */
#define BSD_LAYER_CLOSED (-2)

static ssize_t
S_layer_call(pTHX_ bsd_call *c, bsd_layer_call *lc)
{
    ssize_t r;
    bool gone;
    ENTER;
    r = bsd_call_run(aTHX_ c);
    gone = lc->cleared || (lc->locked && (PerlIOBase(lc->f)->flags & PERLIO_F_CLEARED));
    LEAVE;
    if (gone) {
        SETERRNO(EBADF, SS_IVCHAN);
        return BSD_LAYER_CLOSED;
    }
    return r;
}

static void
S_layer_call_init(pTHX_ bsd_call *c, bsd_layer_call *lc, PerlIO *f, bsd_sock *s, const char *op,
                  short events, ssize_t (*attempt)(pTHX_ bsd_call *c))
{
    lc->f = f;
    lc->locked = lc->cleared = FALSE;
    bsd_call_init(c, s, NULL, op, events, attempt);
    c->mode = BSD_CALL_ERRNO | BSD_CALL_FD_MODE;
    c->guard = S_layer_guard;
    c->recheck = S_layer_recheck;
    c->ctx = lc;
    c->flags = BSD_NOWAIT(s);
}

/* ------------------------------------------------------------- sending */


/* A handler could free the caller's bytes, or grow the buffer (a print of
 * its own): send a copy of what is left once Perl code is about to run. */
static void
S_guard_write(pTHX_ bsd_call *c)
{
    SV *const copy = sv_2mortal(newSVpvn(c->buf, c->len));
    c->buf = SvPVX(copy);
    S_layer_guard(aTHX_ c);
}

/* Send len bytes from buf, all of them (a datagram: the one message),
 * within the socket's timeout (from *deadline on, if that is set
 * already).  Returns how many went: fewer, with errno set, when the call
 * failed; BSD_LAYER_GONE when a handler closed the handle meanwhile. */
#define BSD_LAYER_GONE ((size_t)-1)

static size_t
S_send_all(pTHX_ PerlIO *f, bsd_sock *s, const char *buf, size_t len, double *deadline)
{
    bsd_layer_call lc;
    bsd_call c;
    if (s->fd < 0) {
        errno = EBADF;
        return 0;
    }
    S_layer_call_init(aTHX_ &c, &lc, f, s, "print", POLLOUT, bsd_attempt_send);
    c.progress = bsd_sent_piece;
    c.guard = S_guard_write;
    c.buf = (char *)buf;
    c.len = len;
    c.flags |= BSD_MSG_NOSIGNAL;
    c.sent = 0;
    c.deadline = *deadline;
    switch (S_layer_call(aTHX_ &c, &lc)) {
    case BSD_LAYER_CLOSED:
        return BSD_LAYER_GONE;
    case -1:
        errno = c.err;
        break;
    }
    *deadline = c.deadline;
    return (size_t)c.sent;
}

/* Room in the write buffer for n more bytes (it grows past its size
 * rather than lose what a failed send left). */
static bool
S_room(bsd_layer *l, size_t n)
{
    PerlIOBuf *const b = &l->buf;
    const size_t used = (size_t)(b->ptr - b->buf);
    if (used + n <= b->bufsiz)
        return TRUE;
    if (b->buf == (STDCHAR *)&b->oneword)
        return FALSE;
    Renew(b->buf, used + n, STDCHAR);
    b->bufsiz = used + n;
    b->ptr = b->buf + used;
    return TRUE;
}

static bool
S_append(bsd_layer *l, const STDCHAR *bytes, size_t n)
{
    if (!S_room(l, n))
        return FALSE;
    Copy(bytes, l->buf.ptr, n, STDCHAR);
    l->buf.ptr += n;
    return TRUE;
}

/* Flush: send what the write side holds.  What could not go stays at the
 * front of the buffer for the next flush, so a timeout loses nothing, on
 * a stream; a datagram that failed is dropped.  A flush while one is
 * under way (a handler printing, in the middle of it) leaves its bytes
 * for the next. */
static IV
S_flush(pTHX_ PerlIO *f)
{
    bsd_layer *const l = S_layer(f);
    PerlIOBuf *const b = &l->buf;
    double deadline = 0;
    size_t have, sent;
    bool failed;
    int err;
    if (!(PerlIOBase(f)->flags & PERLIO_F_WRBUF) || S_busy(f))
        return 0;
    if (b->ptr == b->buf) {
        PerlIOBase(f)->flags &= ~PERLIO_F_WRBUF;
        return 0;
    }
    have = (size_t)(b->ptr - b->buf);
    sent = S_send_all(aTHX_ f, l->sock, b->buf, have, &deadline);
    if (sent == BSD_LAYER_GONE)
        return -1;
    err = errno;
    failed = sent < have;
    if (failed && l->sock->type != SOCK_STREAM)
        sent = have;                /* (a datagram goes whole or not at all) */
    /* the bytes that went leave; a handler's print may have added more */
    Move(b->buf + sent, b->buf, (size_t)(b->ptr - b->buf) - sent, STDCHAR);
    b->ptr -= sent;
    if (b->ptr == b->buf)
        PerlIOBase(f)->flags &= ~PERLIO_F_WRBUF;
    if (failed) {
        PerlIOBase(f)->flags |= PERLIO_F_ERROR;
        errno = err;
        return -1;
    }
    PerlIOBase(f)->flags &= ~PERLIO_F_ERROR;    /* (what failed before has gone now) */
    return 0;
}

/* Whether a handler closed the handle during a flush that failed: its
 * layer is gone (or cleared, still locked by an outer call). */
static bool
S_closed(PerlIO *f)
{
    return !PerlIOValid(f) || (PerlIOBase(f)->flags & PERLIO_F_CLEARED)
        || PerlIOBase(f)->tab != PERLIO_FUNCS_CAST(&bsd_perlio_layer);
}

/* Write: into the buffer, flushed when it fills.  A write bigger than the
 * buffer goes straight from the caller's bytes, once the buffer ahead of
 * it has gone, under one deadline for both.  Every byte is taken: what
 * could not go waits in the buffer, and the handle reports the error
 * (print returns false). */
static SSize_t
S_write(pTHX_ PerlIO *f, const void *vbuf, Size_t count)
{
    bsd_layer *const l = S_layer(f);
    PerlIOBuf *const b = &l->buf;
    const STDCHAR *const bytes = (const STDCHAR *)vbuf;
    /* a failure before (a timeout) is not this write's */
    PerlIOBase(f)->flags &= ~PERLIO_F_ERROR;
    if (!(PerlIOBase(f)->flags & PERLIO_F_CANWRITE)) {
        SETERRNO(EBADF, SS_IVCHAN);
        return -1;
    }
    if (!b->buf)
        PerlIO_get_base(f);
    if (S_busy(f) || count < b->bufsiz) {
        if (!S_busy(f) && (size_t)(b->ptr - b->buf) + count > b->bufsiz
            && S_flush(aTHX_ f) != 0 && S_closed(f))
            return -1;              /* (by a handler: the layer is gone) */
        if (!S_append(l, bytes, count)) {
            SETERRNO(ENOMEM, LIB_INVARG);
            return -1;
        }
        PerlIOBase(f)->flags |= PERLIO_F_WRBUF;
        return (SSize_t)count;
    }
    {
        double deadline = 0;
        size_t sent;
        if (b->ptr > b->buf) {
            const int was = S_flush(aTHX_ f);
            if (was != 0) {
                /* (what waits goes first: this write waits behind it) */
                if (S_closed(f))
                    return -1;
                if (l->sock->type == SOCK_STREAM && S_append(l, bytes, count)) {
                    PerlIOBase(f)->flags |= PERLIO_F_WRBUF | PERLIO_F_ERROR;
                    return (SSize_t)count;
                }
                return -1;
            }
        }
        sent = S_send_all(aTHX_ f, l->sock, (const char *)bytes, count, &deadline);
        if (sent == BSD_LAYER_GONE)
            return -1;
        if (sent < count) {
            const int err = errno;
            if (l->sock->type == SOCK_STREAM) {
                /* the rest waits in the buffer for the next print or flush */
                if (S_append(l, bytes + sent, count - sent))
                    PerlIOBase(f)->flags |= PERLIO_F_WRBUF;
            }
            PerlIOBase(f)->flags |= PERLIO_F_ERROR;
            errno = err;
            return (SSize_t)count;
        }
        return (SSize_t)count;
    }
}

/* ------------------------------------------------------------- reading */

/* Fill: the next bytes from the socket, into the (empty) buffer.  A
 * timeout or an error leaves the handle as it was: the next read tries
 * again.  A read while one is under way (a handler reading the same
 * handle, in the middle of it) fails EBUSY. */
static IV
S_fill(pTHX_ PerlIO *f)
{
    bsd_layer *const l = S_layer(f);
    PerlIOBuf *const b = &l->buf;
    bsd_sock *const s = l->sock;
    bsd_layer_call lc;
    bsd_call c;
    ssize_t n;
    PerlIOBase(f)->flags &= ~(PERLIO_F_EOF | PERLIO_F_ERROR);
    if (S_busy(f)) {
        PerlIOBase(f)->flags |= PERLIO_F_ERROR;
        SETERRNO(EBUSY, SS_IVCHAN);
        return -1;
    }
    if (b->buf && b->bufsiz > BSD_LAYER_BUFSIZ) {
        /* (bytes put back grew it, and it is empty again: back to size) */
        Safefree(b->buf);
        b->buf = NULL;
        b->bufsiz = BSD_LAYER_BUFSIZ;
    }
    if (!b->buf)
        PerlIO_get_base(f);
    b->ptr = b->end = b->buf;
    if (s->fd < 0) {
        PerlIOBase(f)->flags |= PERLIO_F_ERROR;
        SETERRNO(EBADF, SS_IVCHAN);
        return -1;
    }
    S_layer_call_init(aTHX_ &c, &lc, f, s, "readline", POLLIN, bsd_attempt_recv);
    c.buf = b->buf;
    c.len = b->bufsiz;
    n = S_layer_call(aTHX_ &c, &lc);
    if (n == BSD_LAYER_CLOSED)
        return -1;                  /* (the layer is gone: touch nothing) */
    if (n < 0) {
        PerlIOBase(f)->flags |= PERLIO_F_ERROR;
        errno = c.err;
        return -1;
    }
    if (n == 0) {
        PerlIOBase(f)->flags |= PERLIO_F_EOF;
        return -1;
    }
    b->end = b->buf + n;
    PerlIOBase(f)->flags |= PERLIO_F_RDBUF;
    return 0;
}

/* The bytes the read side holds, taken by a receive call: at most room
 * of them into dest (none taken with MSG_PEEK).  Returns how many, 0 when
 * nothing is buffered (then the call goes to the kernel). */
size_t
bsd_take_buffered(bsd_sock *s, char *dest, size_t room, int flags)
{
    PerlIOBuf *const b = &s->rbuf->buf;
    size_t n = (size_t)(b->end - b->ptr);
    if (n > room)
        n = room;
    Copy(b->ptr, dest, n, char);
    if (!(flags & MSG_PEEK))
        b->ptr += n;
    return n;
}

bool
bsd_read_side_busy(const bsd_sock *s)
{
    const PerlIOl *const head = s->rbuf ? s->rbuf->buf.base.head : NULL;
    return head && head->flags > 0;     /* (the lock count: S_lockcnt) */
}

void
bsd_unread(pTHX_ bsd_sock *s, const char *bytes, size_t len)
{
    PerlIOBuf *b;
    size_t held;
    if (len == 0)
        return;
    if (!s->rbuf) {
        /* (a socket always has its handle's read side while it is open:
         * this one was closed under the call, and the bytes go with it) */
        return;
    }
    b = &s->rbuf->buf;
    held = b->buf && b->ptr ? (size_t)(b->end - b->ptr) : 0;
    if (!b->buf || held + len > (size_t)b->bufsiz) {
        /* a buffer big enough for both, what was held moved behind */
        const size_t size = held + len > (size_t)b->bufsiz ? held + len : (size_t)b->bufsiz;
        STDCHAR *fresh;
        Newx(fresh, size, STDCHAR);
        if (held)
            Copy(b->ptr, fresh + len, held, STDCHAR);
        Safefree(b->buf);
        b->buf = fresh;
        b->bufsiz = size;
    }
    else if (held)
        Move(b->ptr, b->buf + len, held, STDCHAR);
    Copy(bytes, b->buf, len, STDCHAR);
    b->ptr = b->buf;
    b->end = b->buf + len + held;
    b->base.flags = (b->base.flags & ~PERLIO_F_EOF) | PERLIO_F_RDBUF;
}

size_t
bsd_sock_pending(bsd_sock *s)
{
    /* (and what a coalesced buffer held: gro.c) */
    return (s->rbuf && s->rbuf->buf.ptr ? (size_t)(s->rbuf->buf.end - s->rbuf->buf.ptr) : 0)
         + bsd_gro_held(s);
}

/* ------------------------------------------------------- the layer's life */

static IV
S_pushed(pTHX_ PerlIO *f, const char *mode, SV *arg, PerlIO_funcs *tab)
{
    bsd_layer *const l = S_layer(f);
    /* only BSDSocket pushes this layer, with its socket */
    if (!arg || !SvIOK(arg) || *PerlIONext(f)) {
        SETERRNO(EINVAL, LIB_INVARG);
        return -1;
    }
    if (PerlIOBase_pushed(aTHX_ f, mode, NULL, tab) != 0)
        return -1;
    l->sock = INT2PTR(bsd_sock *, SvIVX(arg));
    l->sock->refcnt++;
    l->buf.bufsiz = BSD_LAYER_BUFSIZ;
    PerlIOBase(f)->flags |= PERLIO_F_OPEN;
    if ((PerlIOBase(f)->flags & PERLIO_F_CANREAD) && !l->sock->rbuf)
        l->sock->rbuf = l;
    return 0;
}

static IV
S_popped(pTHX_ PerlIO *f)
{
    bsd_layer *const l = S_layer(f);
    bsd_sock *const s = l->sock;
    const IV code = PerlIOBuf_popped(aTHX_ f);
    if (s) {
        l->sock = NULL;
        if (s->rbuf == l)
            s->rbuf = NULL;
        bsd_sock_release(aTHX_ s);
    }
    return code;
}

/* Close: what is printed goes first, then the socket closes (close($sock)
 * and $sock->close are the same). */
static IV
S_close(pTHX_ PerlIO *f)
{
    bsd_layer *const l = S_layer(f);
    IV code = 0;
    if (PerlIOBase(f)->flags & PERLIO_F_CANWRITE)
        code = S_flush(aTHX_ f);
    PerlIOBase(f)->flags &= ~(PERLIO_F_CANREAD | PERLIO_F_CANWRITE | PERLIO_F_OPEN);
    if (l->sock && bsd_sock_close_fd(aTHX_ l->sock) != 0)
        code = -1;
    return code;
}

static IV
S_fileno(pTHX_ PerlIO *f)
{
    PERL_UNUSED_CONTEXT;
    return S_layer(f)->sock ? S_layer(f)->sock->fd : -1;
}

/* A dup: for a new thread (the same socket, cloned: see bsd_sock_clone_struct),
 * or for open(my $fh, '<&', $sock), a socket of its own on a dup of the fd
 * with the same rules.  (For '+<&' perl opens the write side itself, with
 * its own layers on the same fd: perl's rules there.) */
static PerlIO *
S_dup(pTHX_ PerlIO *f, PerlIO *o, CLONE_PARAMS *param, int flags)
{
    bsd_sock *const old = S_layer(o)->sock;
    bsd_sock *s;
    SV *arg;
    char mode[8];
    if (!old)
        return NULL;
    if (param && (flags & PERLIO_DUP_CLONE))
        s = bsd_sock_clone_struct(aTHX_ old, param);
    else {
        const int fd = old->fd < 0 ? -1 : fcntl(old->fd, F_DUPFD_CLOEXEC, 0);
        if (old->fd >= 0 && fd < 0)
            return NULL;
        s = bsd_sock_struct_new();
        bsd_sock_take_fd(s, fd);
        s->family = old->family;
        s->type = old->type;
        s->proto = old->proto;
        s->timeout = old->timeout;
    }
    /* (not a mortal: while perl_clone runs, the new interpreter has no
     * temporaries stack yet) */
    arg = newSViv(PTR2IV(s));
    f = PerlIO_push(aTHX_ f, PerlIOBase(o)->tab, PerlIO_modestr(o, mode), arg);
    SvREFCNT_dec_NN(arg);
    bsd_sock_release(aTHX_ s);      /* (the layer holds it now, or it is gone) */
    return f;
}

static IV
S_seek(pTHX_ PerlIO *f, Off_t offset, int whence)
{
    PERL_UNUSED_ARG(f);
    PERL_UNUSED_ARG(offset);
    PERL_UNUSED_ARG(whence);
    SETERRNO(ESPIPE, LIB_INVARG);
    return -1;
}

static Off_t
S_tell(pTHX_ PerlIO *f)
{
    PERL_UNUSED_ARG(f);
    SETERRNO(ESPIPE, LIB_INVARG);
    return -1;
}

/* binmode: a socket is bytes already (:raw keeps this layer). */
static IV
S_binmode(pTHX_ PerlIO *f)
{
    /* (this layer stays; what binmode clears, a :utf8 flag, goes) */
    return PerlIOBase_binmode(aTHX_ f);
}

PERLIO_FUNCS_DECL(bsd_perlio_layer) = {
    sizeof(PerlIO_funcs),
    "bsdsocket",
    sizeof(bsd_layer),
    PERLIO_K_BUFFERED | PERLIO_K_RAW,
    S_pushed,
    S_popped,
    NULL,                   /* Open: not by name */
    S_binmode,
    NULL,                   /* Getarg */
    S_fileno,
    S_dup,
    PerlIOBuf_read,
    PerlIOBuf_unread,
    S_write,
    S_seek,
    S_tell,
    S_close,
    S_flush,
    S_fill,
    PerlIOBase_eof,
    PerlIOBase_error,
    PerlIOBase_clearerr,
    PerlIOBase_setlinebuf,
    PerlIOBuf_get_base,
    PerlIOBuf_bufsiz,
    PerlIOBuf_get_ptr,
    PerlIOBuf_get_cnt,
    PerlIOBuf_set_ptrcnt,
};

/* --------------------------------------------------------- the IO slot */

static PerlIO *
S_open_side(pTHX_ bsd_sock *s, const char *mode, bool unbuffered)
{
    PerlIO *const f = PerlIO_allocate(aTHX);
    SV *const arg = sv_2mortal(newSViv(PTR2IV(s)));
    if (!f)
        return NULL;
    if (!PerlIO_push(aTHX_ f, PERLIO_FUNCS_CAST(&bsd_perlio_layer), mode, arg)) {
        PerlIO_close(f);
        return NULL;
    }
    if (unbuffered)             /* (a byte at a time: nothing read ahead) */
        S_layer(f)->buf.bufsiz = 1;
    return f;
}

/* Open the IO slot of glob gv on socket s: a read side and a write side
 * (either may be left out, for makefile), output autoflushed; unbuffered
 * reads take a byte at a time (makefile's bufsize 0). */
void
bsd_handle_open(pTHX_ GV *gv, bsd_sock *s, bool want_read, bool want_write, bool unbuffered,
                const char *op)
{
    IO *const io = GvIOn(gv);
    PerlIO *in = NULL, *out = NULL;
    if (want_read && !(in = S_open_side(aTHX_ s, "r", unbuffered)))
        bsd_die_errno(aTHX_ op, errno ? errno : ENOMEM, NULL);
    if (want_write && !(out = S_open_side(aTHX_ s, "w", FALSE))) {
        const int err = errno ? errno : ENOMEM;
        if (in)
            (void)PerlIO_close(in);
        bsd_die_errno(aTHX_ op, err, NULL);
    }
    IoIFP(io) = in ? in : out;
    IoOFP(io) = out;
    IoTYPE(io) = in && out ? IoTYPE_SOCKET : in ? IoTYPE_RDONLY : IoTYPE_WRONLY;
    IoFLAGS(io) |= IOf_FLUSH;
}

/* Close the IO slot (printed bytes go first).  The socket's fd goes with
 * it unless the socket gave it up already (detach). */
void
bsd_handle_close(pTHX_ GV *gv)
{
    IO *const io = GvIO(gv);
    PerlIO *in, *out;
    if (!io)
        return;
    in = IoIFP(io);
    out = IoOFP(io);
    IoIFP(io) = IoOFP(io) = NULL;
    IoTYPE(io) = IoTYPE_CLOSED;
    if (out)
        (void)PerlIO_close(out);
    if (in && in != out)
        (void)PerlIO_close(in);
}

/* Flush the write side (before a detach hands the fd over). */
void
bsd_handle_flush(pTHX_ GV *gv)
{
    IO *const io = GvIO(gv);
    if (io && IoOFP(io))
        (void)PerlIO_flush(IoOFP(io));
}


/* ------------------------------------------------- sysread and syswrite */

/* A socket's handle, if fh is one whose layer is ours (and not tied):
 * its socket, else NULL. */
static bsd_sock *
S_handle_sock(pTHX_ GV *gv, bool for_write)
{
    IO *io;
    PerlIO *f;
    if (!gv || !isGV_with_GP(gv) || !(io = GvIO(gv)) || SvRMAGICAL(io))
        return NULL;
    f = for_write ? IoOFP(io) : IoIFP(io);
    if (!f || !*f || PerlIOBase(f)->tab != PERLIO_FUNCS_CAST(&bsd_perlio_layer))
        return NULL;
    return S_layer(f)->sock;
}

/* The caller's buffer could be freed by a signal handler: once Perl code
 * is about to run, receive into a buffer of our own. */
static void
S_guard_sysread(pTHX_ bsd_call *c)
{
    c->bounce = sv_newmortal();
    c->buf = bsd_grow_or_die(aTHX_ c->bounce, c->len, c->op);
    sv_2mortal(SvREFCNT_inc_simple_NN(c->target));
}

/* sysread($fh, $buffer, $length, $offset), as perl's own does it, but
 * from what the handle read ahead first, and through the driver.
 * Returns the bytes read (0 at the end), or -1 with errno set. */
SSize_t
bsd_handle_sysread(pTHX_ bsd_sock *s, SV *bufsv, IV length, IV offset)
{
    STRLEN blen;
    char *buffer;
    ssize_t n;
    if (length < 0)
        bsd_die_arg(aTHX_ "sysread", "Negative length");
    if (s->fd < 0) {
        SETERRNO(EBADF, SS_IVCHAN);
        return -1;
    }
    if (SvREADONLY(bufsv))
        croak_no_modify();
    if (!SvOK(bufsv))
        sv_setpvs(bufsv, "");          /* (as perl's: no warning for undef) */
    buffer = SvPV_force(bufsv, blen);
    if (SvUTF8(bufsv)) {
        sv_utf8_downgrade(bufsv, FALSE);    /* (a socket reads bytes) */
        buffer = SvPV_force(bufsv, blen);
    }
    if (offset < 0) {
        if (offset < -(IV)blen)         /* (never -offset: IV_MIN has no negation) */
            bsd_die_arg(aTHX_ "sysread", "Offset outside string");
        offset += (IV)blen;
    }
    buffer = bsd_grow_or_die(aTHX_ bufsv, (STRLEN)offset + (STRLEN)length, "sysread");
    if ((STRLEN)offset > blen)
        Zero(buffer + blen, (STRLEN)offset - blen, char);
    if (length == 0)
        n = 0;                      /* (as read(2) of 0 bytes: nothing consumed) */
    else if (bsd_has_buffered(s))
        n = (ssize_t)bsd_take_buffered(s, buffer + offset, (size_t)length, 0);
    else {
        bsd_call c;
        bsd_call_init(&c, s, NULL, "sysread", POLLIN, bsd_attempt_recv);
        c.mode = BSD_CALL_ERRNO | BSD_CALL_FD_MODE;   /* (the driver holds s) */
        c.guard = S_guard_sysread;
        c.target = bufsv;
        c.buf = buffer + offset;
        c.len = (size_t)length;
        c.flags = BSD_NOWAIT(s);
        n = bsd_call_run(aTHX_ &c);
        if (n < 0) {
            errno = c.err;
            return -1;
        }
        if (c.bounce) {             /* Perl code ran: the caller's buffer anew */
            STRLEN now;
            const char *const got = c.buf;
            if (SvREADONLY(bufsv))
                croak_no_modify();
            (void)SvPV_force(bufsv, now);
            buffer = bsd_grow_or_die(aTHX_ bufsv, (STRLEN)offset + (STRLEN)n, "sysread");
            if ((STRLEN)offset > now)
                Zero(buffer + now, (STRLEN)offset - now, char);
            Copy(got, buffer + offset, n, char);
        }
    }
    SvCUR_set(bufsv, (STRLEN)offset + (STRLEN)n);
    SvPVX(bufsv)[SvCUR(bufsv)] = '\0';
    (void)SvPOK_only(bufsv);
    (void)bsd_tainted(bufsv);
    SvSETMAGIC(bufsv);
    return n;
}

/* A copy of what is left to send, once Perl code is about to run. */
static void
S_guard_syswrite(pTHX_ bsd_call *c)
{
    SV *const copy = sv_2mortal(newSVpvn(c->buf, c->len));
    c->buf = SvPVX(copy);
}

/* syswrite: one send of len bytes (fewer may go), through the driver,
 * never raising SIGPIPE.  Returns the bytes sent, or -1 with errno set. */
SSize_t
bsd_handle_syswrite(pTHX_ bsd_sock *s, const char *buf, size_t len)
{
    bsd_call c;
    ssize_t n;
    if (s->fd < 0) {
        SETERRNO(EBADF, SS_IVCHAN);
        return -1;
    }
    bsd_call_init(&c, s, NULL, "syswrite", POLLOUT, bsd_attempt_send);
    c.mode = BSD_CALL_ERRNO | BSD_CALL_FD_MODE;
    c.guard = S_guard_syswrite;
    c.buf = (char *)buf;
    c.len = len;
    c.flags = BSD_MSG_NOSIGNAL | BSD_NOWAIT(s);
    n = bsd_call_run(aTHX_ &c);
    if (n < 0)
        errno = c.err;
    return n;
}

/* syswrite's arguments: ($buffer, $length?, $offset?), read as perl's
 * own syswrite reads them (numbers as perl numifies them, undef as 0 and
 * ''); the bytes to send.  Dies as perl's syswrite does. */
const char *
bsd_syswrite_slice(pTHX_ SV *bufsv, SV *length_sv, SV *offset_sv, STRLEN *len)
{
    STRLEN blen;
    IV offset = 0, length;
    const char *buffer;
    SvGETMAGIC(bufsv);
    buffer = SvOK(bufsv) || SvROK(bufsv) ? bsd_bytes_nomg(aTHX_ bufsv, &blen) : "";
    if (!buffer)
        bsd_die_arg(aTHX_ "syswrite", "Wide character in syswrite");
    if (!SvOK(bufsv) && !SvROK(bufsv))
        blen = 0;
    length = length_sv ? SvIV(length_sv) : (IV)blen;
    if (length < 0)
        bsd_die_arg(aTHX_ "syswrite", "Negative length");
    if (offset_sv) {
        offset = SvIV(offset_sv);
        if (offset < 0) {
            if (offset < -(IV)blen)     /* (never -offset: IV_MIN has no negation) */
                bsd_die_arg(aTHX_ "syswrite", "Offset outside string");
            offset += (IV)blen;
        }
        else if (offset > (IV)blen && blen)
            bsd_die_arg(aTHX_ "syswrite", "Offset outside string");
        if (offset > (IV)blen)
            offset = (IV)blen;
    }
    if ((STRLEN)length > blen - (STRLEN)offset)
        length = (IV)(blen - (STRLEN)offset);
    *len = (STRLEN)length;
    return buffer + offset;
}

/* The builtins, for handles of ours; perl's own for everything else. */
static Perl_check_t bsd_next_ck_sysread, bsd_next_ck_syswrite;

/* What sysread and syswrite return: the count, or undef (errno set). */
static OP *
S_return_count(pTHX_ SV **mark, SSize_t n)
{
    SV **sp = mark;
    if (n < 0)
        *++sp = &PL_sv_undef;
    else {
        dTARGET;
        sv_setiv(TARG, n);
        *++sp = TARG;
    }
    PL_stack_sp = sp;
    return NORMAL;
}

static OP *
S_pp_sysread(pTHX)
{
    SV **const mark = PL_stack_base + TOPMARK;
    const SSize_t items = PL_stack_sp - mark;
    bsd_sock *s;
    IV length, offset;
    if (items < 3 || items > 4 || !S_handle_sock(aTHX_ MUTABLE_GV(mark[1]), FALSE))
        return PL_ppaddr[OP_SYSREAD](aTHX);
    /* (numbers as perl's own sysread reads them: undef is 0; read first,
     * since their magic may run code that closes the handle) */
    length = SvIV(mark[3]);
    offset = items > 3 ? SvIV(mark[4]) : 0;
    if (!(s = S_handle_sock(aTHX_ MUTABLE_GV(mark[1]), FALSE)))
        return PL_ppaddr[OP_SYSREAD](aTHX);
    POPMARK;
    return S_return_count(aTHX_ mark, bsd_handle_sysread(aTHX_ s, mark[2], length, offset));
}

static OP *
S_pp_syswrite(pTHX)
{
    SV **const mark = PL_stack_base + TOPMARK;
    const SSize_t items = PL_stack_sp - mark;
    bsd_sock *s;
    const char *buf;
    STRLEN len;
    if (items < 2 || items > 4 || !S_handle_sock(aTHX_ MUTABLE_GV(mark[1]), TRUE))
        return PL_ppaddr[OP_SYSWRITE](aTHX);
    /* (the arguments first: their magic may run code that closes the handle) */
    buf = bsd_syswrite_slice(aTHX_ mark[2], items > 2 ? mark[3] : NULL,
                             items > 3 ? mark[4] : NULL, &len);
    if (!(s = S_handle_sock(aTHX_ MUTABLE_GV(mark[1]), TRUE))) {
        SETERRNO(EBADF, SS_IVCHAN);
        PL_stack_sp = mark;
        POPMARK;
        *++PL_stack_sp = &PL_sv_undef;
        return NORMAL;
    }
    POPMARK;
    return S_return_count(aTHX_ mark, bsd_handle_syswrite(aTHX_ s, buf, len));
}

static OP *
S_ck_sysread(pTHX_ OP *o)
{
    o = bsd_next_ck_sysread(aTHX_ o);
    if (o->op_type == OP_SYSREAD && o->op_ppaddr == PL_ppaddr[OP_SYSREAD])
        o->op_ppaddr = S_pp_sysread;
    return o;
}

static OP *
S_ck_syswrite(pTHX_ OP *o)
{
    o = bsd_next_ck_syswrite(aTHX_ o);
    if (o->op_type == OP_SYSWRITE && o->op_ppaddr == PL_ppaddr[OP_SYSWRITE])
        o->op_ppaddr = S_pp_syswrite;
    return o;
}

void
bsd_handle_boot(pTHX)
{
    PerlIO_define_layer(aTHX_ PERLIO_FUNCS_CAST(&bsd_perlio_layer));
    /* process-wide, once */
    if (!bsd_next_ck_sysread) {
        wrap_op_checker(OP_SYSREAD, S_ck_sysread, &bsd_next_ck_sysread);
        wrap_op_checker(OP_SYSWRITE, S_ck_syswrite, &bsd_next_ck_syswrite);
    }
}
