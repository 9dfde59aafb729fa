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

#define BSD_LAYER_BUFSIZ 65536

#define S_layer(f) PerlIOSelf(f, bsd_layer)

/* perl keeps a PerlIO's lock count in its head's flags (perlio.c's
 * PerlIO_lockcnt): while it is not 0, closing the handle only marks its
 * layers cleared, and leaves freeing them to whoever holds the lock. */
#define S_lockcnt(f) (((PerlIOl *)(f))->head->flags)

/* --------------------------------------------------- the call, in a layer */

/* A layer's socket call runs Perl's signal handlers in the middle, as
 * perl's own :unix layer does: with the handle locked, so that a handler
 * that closes it cannot free the layer under us.  If one did, the cleared
 * layers are freed here and the call ends EBADF. */
typedef struct {
    PerlIO *f;
    bool    locked;
    bool    cleared;        /* a handler closed the handle */
    bool    callers_bytes;  /* a write sends straight from the caller's buffer */
} bsd_layer_call;

static void
S_unlock(pTHX_ void *f)
{
    PERL_UNUSED_CONTEXT;
    S_lockcnt(f)--;
}

static void
S_release(pTHX_ void *s)
{
    bsd_sock_release(aTHX_ (bsd_sock *)s);
}

/* Before Perl code runs: lock the handle, and hold the socket. */
static void
S_layer_guard(pTHX_ bsd_call *c)
{
    bsd_layer_call *const lc = (bsd_layer_call *)c->ctx;
    if (!lc->locked) {
        lc->locked = TRUE;
        S_lockcnt(lc->f)++;
        SAVEDESTRUCTOR_X(S_unlock, lc->f);
        c->sock->refcnt++;
        SAVEDESTRUCTOR_X(S_release, c->sock);
    }
}

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

/* Run the call, unlocking the handle when it is done; if a handler closed
 * the handle meanwhile, free the layers it cleared (as perl's own layers
 * do) and return -1: the caller must not touch its layer again. */
static ssize_t
S_layer_call(pTHX_ bsd_call *c, bsd_layer_call *lc)
{
    ssize_t r;
    ENTER;
    r = bsd_call_run(aTHX_ c);
    LEAVE;
    if (lc->cleared) {
        PerlIO *const f = lc->f;
        while (PerlIOValid(f) && (PerlIOBase(f)->flags & PERLIO_F_CLEARED)) {
            PerlIOl *const l = *f;
            *f = l->next;
            Safefree(l);
        }
        SETERRNO(EBADF, SS_IVCHAN);
        return -1;
    }
    return r;
}

/* ------------------------------------------------------------- sending */

static ssize_t
S_attempt_send(pTHX_ bsd_call *c)
{
    PERL_UNUSED_CONTEXT;
    return send(c->sock->fd, c->buf, BSD_IO_LEN(c->len), c->flags);
}

static bool
S_sent_piece(pTHX_ bsd_call *c, ssize_t n)
{
    PERL_UNUSED_CONTEXT;
    c->buf += n;
    c->len -= (size_t)n;
    c->sent += n;
    return c->len == 0;
}

/* What a signal handler could free is the caller's buffer, when we send
 * straight from it (a large print): send a copy of the rest instead. */
static void
S_guard_write(pTHX_ bsd_call *c)
{
    if (((bsd_layer_call *)c->ctx)->callers_bytes) {
        SV *const copy = sv_2mortal(newSVpvn(c->buf, c->len));
        c->buf = SvPVX(copy);
    }
    S_layer_guard(aTHX_ c);
}

/* Send len bytes from buf, all of them, within the socket's timeout
 * (from `deadline` on, if that is set already).  Returns how many went;
 * fewer, with errno set, when the call failed; (size_t)-1 when a handler
 * closed the handle meanwhile (its layer is gone: touch nothing). */
#define BSD_LAYER_GONE ((size_t)-1)

static size_t
S_send_all(pTHX_ PerlIO *f, bsd_sock *s, const char *buf, size_t len, double *deadline,
           bool callers_buffer)
{
    bsd_layer_call lc;
    bsd_call c;
    if (s->fd < 0) {
        errno = EBADF;
        return 0;
    }
    lc.f = f;
    lc.locked = lc.cleared = FALSE;
    lc.callers_bytes = callers_buffer;
    bsd_call_init(&c, s, NULL, "print", POLLOUT, S_attempt_send);
    c.mode = BSD_CALL_ERRNO | BSD_CALL_FD_MODE;
    c.progress = S_sent_piece;
    c.guard = S_guard_write;
    c.recheck = S_layer_recheck;
    c.ctx = &lc;
    c.buf = (char *)buf;
    c.len = len;
    c.flags = MSG_NOSIGNAL | BSD_NOWAIT(s);
    c.sent = 0;
    c.deadline = *deadline;
    if (S_layer_call(aTHX_ &c, &lc) < 0) {
        if (lc.cleared)
            return BSD_LAYER_GONE;
        errno = c.err;
    }
    *deadline = c.deadline;
    return (size_t)c.sent;
}

/* Flush: send what the write side holds.  What could not go stays, at
 * the front of the buffer, for the next flush: a timeout loses nothing. */
static IV
S_flush(pTHX_ PerlIO *f)
{
    bsd_layer *const l = S_layer(f);
    PerlIOBuf *const b = &l->buf;
    if ((PerlIOBase(f)->flags & PERLIO_F_WRBUF) && b->ptr > b->buf) {
        double deadline = 0;
        const size_t have = (size_t)(b->ptr - b->buf);
        const size_t sent = S_send_all(aTHX_ f, l->sock, b->buf, have, &deadline, FALSE);
        if (sent == BSD_LAYER_GONE)
            return -1;
        if (sent < have) {
            const int err = errno;
            Move(b->buf + sent, b->buf, have - sent, STDCHAR);
            b->ptr = b->buf + (have - sent);
            PerlIOBase(f)->flags |= PERLIO_F_ERROR;
            errno = err;
            return -1;
        }
        b->ptr = b->buf;
    }
    if (PerlIOBase(f)->flags & PERLIO_F_WRBUF)
        PerlIOBase(f)->flags &= ~PERLIO_F_WRBUF;
    return 0;
}

/* Write: into the buffer; a write bigger than the buffer goes straight
 * from the caller's bytes once the buffer ahead of it has gone, under one
 * deadline for both. */
static SSize_t
S_write(pTHX_ PerlIO *f, const void *vbuf, Size_t count)
{
    bsd_layer *const l = S_layer(f);
    PerlIOBuf *const b = &l->buf;
    /* a failure before (a timeout) is not this write's */
    PerlIOBase(f)->flags &= ~PERLIO_F_ERROR;
    if (!(PerlIOBase(f)->flags & PERLIO_F_CANWRITE)) {
        SETERRNO(EBADF, SS_IVCHAN);
        return -1;
    }
    if (!b->buf)
        PerlIO_get_base(f);
    if (count >= b->bufsiz) {
        double deadline = 0;
        size_t sent;
        if (b->ptr > b->buf) {
            const size_t have = (size_t)(b->ptr - b->buf);
            const size_t went = S_send_all(aTHX_ f, l->sock, b->buf, have, &deadline, FALSE);
            if (went == BSD_LAYER_GONE)
                return -1;
            if (went < have) {
                const int err = errno;
                Move(b->buf + went, b->buf, have - went, STDCHAR);
                b->ptr = b->buf + (have - went);
                PerlIOBase(f)->flags |= PERLIO_F_ERROR;
                errno = err;
                return -1;
            }
            b->ptr = b->buf;
        }
        sent = S_send_all(aTHX_ f, l->sock, (const char *)vbuf, count, &deadline, TRUE);
        if (sent == BSD_LAYER_GONE)
            return -1;
        if (sent < count) {
            /* part of it went: the rest waits in the buffer for the next
             * print or flush (printing it again would send it twice) */
            const int err = errno;
            const size_t rest = count - sent;
            if (rest > b->bufsiz && b->buf != (STDCHAR *)&b->oneword) {
                Renew(b->buf, rest, STDCHAR);
                b->bufsiz = rest;
            }
            if (rest <= b->bufsiz) {
                Copy((const STDCHAR *)vbuf + sent, b->buf, rest, STDCHAR);
                b->ptr = b->buf + rest;
                PerlIOBase(f)->flags |= PERLIO_F_WRBUF;
            }
            PerlIOBase(f)->flags |= PERLIO_F_ERROR;
            errno = err;
            return -1;
        }
        return (SSize_t)count;
    }
    return PerlIOBuf_write(aTHX_ f, vbuf, count);
}

/* ------------------------------------------------------------- reading */

static ssize_t
S_attempt_recv(pTHX_ bsd_call *c)
{
    PERL_UNUSED_CONTEXT;
    return recv(c->sock->fd, c->buf, BSD_IO_LEN(c->len), c->flags);
}

/* Fill: the next bytes from the socket, into the (empty) buffer.  A
 * timeout or an error leaves the handle as it was: the next read tries
 * again. */
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
    if (!b->buf)
        PerlIO_get_base(f);
    b->ptr = b->end = b->buf;
    if (s->fd < 0) {
        PerlIOBase(f)->flags |= PERLIO_F_ERROR;
        SETERRNO(EBADF, SS_IVCHAN);
        return -1;
    }
    lc.f = f;
    lc.locked = lc.cleared = lc.callers_bytes = FALSE;
    bsd_call_init(&c, s, NULL, "readline", POLLIN, S_attempt_recv);
    c.mode = BSD_CALL_ERRNO | BSD_CALL_FD_MODE;
    c.guard = S_layer_guard;
    c.recheck = S_layer_recheck;
    c.ctx = &lc;
    c.buf = b->buf;
    c.len = b->bufsiz;
    c.flags = BSD_NOWAIT(s);
    n = S_layer_call(aTHX_ &c, &lc);
    if (n < 0) {
        if (lc.cleared)
            return -1;          /* (the layer is gone: touch nothing) */
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

size_t
bsd_sock_pending(bsd_sock *s)
{
    return s->rbuf && s->rbuf->buf.ptr ? (size_t)(s->rbuf->buf.end - s->rbuf->buf.ptr) : 0;
}

/* ------------------------------------------------------- the layer's life */

static IV
S_pushed(pTHX_ PerlIO *f, const char *mode, SV *arg, PerlIO_funcs *tab)
{
    bsd_layer *const l = S_layer(f);
    /* only BSDSocket pushes this layer, with its socket */
    if (!arg || !SvIOK(arg) || PerlIONext(f) && *PerlIONext(f)) {
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
 * or for open(my $fh, '+<&', $sock), a socket of its own on a dup of the fd
 * with the same rules. */
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
        s->fd = fd;
        s->family = old->family;
        s->type = old->type;
        s->proto = old->proto;
        s->timeout = old->timeout;
    }
    arg = sv_2mortal(newSViv(PTR2IV(s)));
    f = PerlIO_push(aTHX_ f, PerlIOBase(o)->tab, PerlIO_modestr(o, mode), arg);
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
    PERL_UNUSED_ARG(f);
    return 0;
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
        if (-offset > (IV)blen)
            bsd_die_arg(aTHX_ "sysread", "Offset outside string");
        offset += (IV)blen;
    }
    buffer = bsd_grow_or_die(aTHX_ bufsv, (STRLEN)offset + (STRLEN)length, "sysread");
    if ((STRLEN)offset > blen)
        Zero(buffer + blen, (STRLEN)offset - blen, char);
    if (bsd_has_buffered(s))
        n = (ssize_t)bsd_take_buffered(s, buffer + offset, (size_t)length, 0);
    else {
        bsd_call c;
        bsd_call_init(&c, s, NULL, "sysread", POLLIN, S_attempt_recv);
        c.mode = BSD_CALL_ERRNO | BSD_CALL_FD_MODE;
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
    bsd_call_init(&c, s, NULL, "syswrite", POLLOUT, S_attempt_send);
    c.mode = BSD_CALL_ERRNO | BSD_CALL_FD_MODE;
    c.guard = S_guard_syswrite;
    c.buf = (char *)buf;
    c.len = len;
    c.flags = MSG_NOSIGNAL | BSD_NOWAIT(s);
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
            if (-offset > (IV)blen)
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

static OP *
S_pp_sysread(pTHX)
{
    SV **const mark = PL_stack_base + TOPMARK;
    SV **sp = PL_stack_sp;
    const SSize_t items = sp - mark;
    bsd_sock *const s = items >= 3 && items <= 4
        ? S_handle_sock(aTHX_ MUTABLE_GV(mark[1]), FALSE) : NULL;
    SSize_t n;
    if (!s)
        return PL_ppaddr[OP_SYSREAD](aTHX);
    POPMARK;
    /* (numbers as perl's own sysread reads them: undef is 0) */
    n = bsd_handle_sysread(aTHX_ s, mark[2], SvIV(mark[3]), items > 3 ? SvIV(mark[4]) : 0);
    sp = mark;
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
S_pp_syswrite(pTHX)
{
    SV **const mark = PL_stack_base + TOPMARK;
    SV **sp = PL_stack_sp;
    const SSize_t items = sp - mark;
    bsd_sock *const s = items >= 2 && items <= 4
        ? S_handle_sock(aTHX_ MUTABLE_GV(mark[1]), TRUE) : NULL;
    const char *buf;
    STRLEN len;
    SSize_t n;
    if (!s)
        return PL_ppaddr[OP_SYSWRITE](aTHX);
    POPMARK;
    buf = bsd_syswrite_slice(aTHX_ mark[2], items > 2 ? mark[3] : NULL,
                             items > 3 ? mark[4] : NULL, &len);
    n = bsd_handle_syswrite(aTHX_ s, buf, len);
    sp = mark;
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
