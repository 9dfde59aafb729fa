/*
 * methods.c - the socket methods that are one system call each: receiving
 * and sending, accept, bind, connect, sendall, the options and makefile.
 *
 * Each describes its call to the driver (call.c), which does any waiting.
 * send and recv, called per message, make their first attempt here
 * inline, and give the driver only a failure: the common case costs no
 * setup.  Receiving writes straight into the scalar that is returned (or
 * the caller's buffer), never through a copy.
 */
#define PERL_NO_GET_CONTEXT
#include "EXTERN.h"
#include "perl.h"
#include "XSUB.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <unistd.h>

#include "bsdsocket.h"

/* ------------------------------------------------------------ receiving */

/* One receive (from: the sender's address goes there, or NULL). */
PERL_STATIC_INLINE ssize_t
S_recv_once(bsd_sock *s, char *buf, size_t len, int flags, bsd_addr *from)
{
    const int fd = s->fd;
    if (bsd_gro_in_play(s))
        return bsd_gro_recv(s, buf, len, flags, from);
    if (from) {
        from->len = sizeof from->u;
        return recvfrom(fd, buf, BSD_IO_LEN(len), flags, &from->u.sa, &from->len);
    }
    return recv(fd, buf, BSD_IO_LEN(len), flags);
}

ssize_t
bsd_attempt_recv(pTHX_ bsd_call *c)
{
    PERL_UNUSED_CONTEXT;
    return S_recv_once(c->sock, c->buf, c->len, c->flags, c->addr);
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
 * is assigned to; see fast.c), or into a new mortal when it is NULL.
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

    if (UNLIKELY(bsd_has_buffered(s))) {
        /* what the handle read ahead comes first (no address with it) */
        n = (ssize_t)bsd_take_buffered(s, buf, bufsize, flags);
        if (from)
            from->len = 0;
    }
    else
        n = S_recv_once(s, buf, bufsize, flags, from);
    if (UNLIKELY(n < 0)) {
        const int err = errno;
        bsd_call c;
        bsd_call_init(&c, s, self, from ? "recvfrom" : "recv", POLLIN, bsd_attempt_recv);
        if (into) {
            c.guard = S_guard_recv_target;
            c.target = into;
        }
        c.buf = buf;
        c.len = bufsize;
        c.flags = flags;
        c.addr = from;
        n = bsd_call_after(aTHX_ &c, -1, err);
        if (c.bounce) {
            result = c.bounce;
            buf = c.buf;
        }
    }

    n = bsd_received(n, bufsize);
    SvCUR_set(result, (STRLEN)n);
    buf[n] = '\0';
    (void)SvPOK_only(result);         /* bytes: no UTF-8 flag, no number */
    unused = SvLEN(result) - (STRLEN)n;
    if (UNLIKELY(unused > BSD_RECV_SLACK && unused > (STRLEN)n))
        SvPV_shrink_to_cur(result);
    return bsd_tainted(result);
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
    bsd_call_init(&c, s, self, op, POLLIN, bsd_attempt_recv);
    c.guard = S_guard_recv_target;
    c.target = buf;
    c.buf = dest;
    c.len = nbytes;
    c.flags = flags | BSD_NOWAIT(s);
    c.addr = from;
    if (UNLIKELY(bsd_has_buffered(s))) {
        n = (ssize_t)bsd_take_buffered(s, dest, nbytes, flags);
        if (from)
            from->len = 0;
    }
    else
        n = bsd_received(bsd_call_run(aTHX_ &c), nbytes);
    if (c.bounce) {                   /* Perl code ran: the caller's buffer anew */
        if (SvREADONLY(buf) || SvROK(buf) || isGV_with_GP(buf))
            bsd_die_arg(aTHX_ op, "the buffer was changed into something that cannot be written while the call waited");
        Copy(c.buf, bsd_grow_or_die(aTHX_ buf, (STRLEN)n, op), n, char);
    }
    bsd_into_finish(aTHX_ buf, (STRLEN)n);
    return (STRLEN)n;
}

/* -------------------------------------------------------------- sending */

/* One send (to: the address, or NULL). */
PERL_STATIC_INLINE ssize_t
S_send_once(int fd, const char *buf, size_t len, int flags, const bsd_addr *to)
{
    ssize_t r;
    if (to)
        BSD_SEND(r, sendto(fd, buf, BSD_IO_LEN(len), flags, &to->u.sa, to->len));
    else
        BSD_SEND(r, send(fd, buf, BSD_IO_LEN(len), flags));
    return r;
}

/* The attempt of every plain send (send, sendto, sendall, and the
 * handle's print and syswrite): c->addr NULL for none. */
ssize_t
bsd_attempt_send(pTHX_ bsd_call *c)
{
    PERL_UNUSED_CONTEXT;
    return S_send_once(c->sock->fd, c->buf, c->len, c->flags, c->addr);
}

/* The data scalar belongs to the caller, and a signal handler could free
 * its buffer under us: send from a copy once Perl code is about to run
 * (of what is left to send). */
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

    buf = bsd_sv_to_bytes(aTHX_ data, &len, "data", op);    /* (a plain string as it is) */

    /* a peer that went away is EPIPE, never a SIGPIPE that kills perl */
    flags |= BSD_MSG_NOSIGNAL | BSD_NOWAIT(s);
    n = S_send_once(s->fd, buf, len, flags, to);
    if (UNLIKELY(n < 0)) {
        const int err = errno;
        bsd_call c;
        bsd_call_init(&c, s, self, op, POLLOUT, bsd_attempt_send);
        c.peer = to;
        c.guard = S_guard_send_buffer;
        c.buf = (char *)buf;
        c.len = len;
        c.flags = flags;
        c.addr = to;
        n = bsd_call_after(aTHX_ &c, -1, err);
    }
    return n;
}

/* sendall's pieces (and print's): what is left moves on. */
bool
bsd_sent_piece(pTHX_ bsd_call *c, ssize_t n)
{
    PERL_UNUSED_CONTEXT;
    c->buf += n;
    c->len -= (size_t)n;
    c->sent += n;
    return c->len == 0;
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
    ssize_t first;
    int err;
    if (len == 0)
        return 0;
    flags |= BSD_MSG_NOSIGNAL | BSD_NOWAIT(s);
    first = S_send_once(s->fd, buf, len, flags, NULL);    /* (all of it, usually) */
    if (LIKELY(first == (ssize_t)len))
        return len;
    err = errno;
    bsd_call_init(&c, s, self, "sendall", POLLOUT, bsd_attempt_send);
    c.progress = bsd_sent_piece;
    c.guard = S_guard_send_buffer;      /* it copies what is left to send */
    c.buf = (char *)buf;
    c.len = len;                        /* what is left; one call sends at most BSD_MAX_IO */
    c.flags = flags;
    c.sent = 0;
    (void)bsd_call_after(aTHX_ &c, first, err);
    return len;
}

/* ------------------------------------------------------ accept, connect */

static ssize_t
S_attempt_accept(pTHX_ bsd_call *c)
{
    PERL_UNUSED_CONTEXT;
    c->addr->len = sizeof c->addr->u;
    /* the new socket takes the default timeout, not the listener's */
    return bsd_accept(c->sock->fd, &c->addr->u.sa, &c->addr->len, bsd_default_nonblocking());
}

SV *
bsd_sock_accept(pTHX_ bsd_sock *s, SV *self, bsd_addr *peer)
{
    bsd_sock *conn;
    /* the connection takes the listener's class, as IO::Socket's accept does */
    SV *const obj = bsd_sock_new(aTHX_ SvSTASH(SvRV(self)), &conn);
    bsd_call c;
    int fd;
    bsd_call_init(&c, s, self, "accept", POLLIN, S_attempt_accept);
    c.addr = peer;
    ENTER;
    bsd_sock_nonblocking_call(aTHX_ s, TRUE, "accept");
    fd = (int)bsd_call_run(aTHX_ &c);
    LEAVE;
    bsd_sock_open_fd(aTHX_ obj, conn, fd, s->family, s->type, s->proto, "accept");
    return obj;
}

void
bsd_sock_bind(pTHX_ bsd_sock *s, const bsd_addr *addr)
{
    if (bind(s->fd, &addr->u.sa, addr->len) < 0) {
        bsd_error e = BSD_ERROR("bind", errno);
        bsd_error_at(aTHX_ &e, addr, s->family);
        bsd_throw(aTHX_ &e);
    }
}

static ssize_t
S_attempt_connect(pTHX_ bsd_call *c)
{
    PERL_UNUSED_CONTEXT;
    return connect(c->sock->fd, &c->addr->u.sa, c->addr->len);
}

/* connect: 0, or dies; connect_ex (return_errno) returns the errno
 * instead, ETIMEDOUT for a timeout.  The driver waits for a connect in
 * progress (see BSD_CALL_CONNECT). */
int
bsd_sock_connect(pTHX_ bsd_sock *s, SV *self, bsd_addr *addr, bool return_errno)
{
    bsd_call c;
    ssize_t r;
    bsd_call_init(&c, s, self, "connect", POLLOUT, S_attempt_connect);
    c.mode = BSD_CALL_CONNECT | (return_errno ? BSD_CALL_ERRNO : 0);
    c.peer = addr;
    c.addr = addr;
    ENTER;
    bsd_sock_nonblocking_call(aTHX_ s, FALSE, "connect");
    r = bsd_call_run(aTHX_ &c);
    LEAVE;
    return r < 0 ? c.err : 0;
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
    bsd_sock_options_changed(s);
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
    /* bufsize: undef or -1 is the handle's own buffering, 0 is none; a
     * positive one means buffered.  Either way output is autoflushed, as
     * the socket's own handle is. */
    if (bufsize_sv) {
        SvGETMAGIC(bufsize_sv);
        if (SvOK(bufsize_sv))
            unbuffered = bsd_iv_nomg(aTHX_ bufsize_sv, -1, IV_MAX, "bufsize", "makefile") == 0;
    }
    {
        /* a handle of its own, on a dup of the fd, with the socket's rules */
        GV *const gv = MUTABLE_GV(newSV_type(SVt_NULL));
        SV *const handle = sv_2mortal(newRV_noinc(MUTABLE_SV(gv)));
        bsd_sock *const copy = bsd_sock_struct_new();
        SV *const holder = sv_2mortal(newSViv(0));
        gv_init_pvn(gv, gv_stashpvs(BSD_SOCKET_CLASS, GV_ADD), "__ANONIO__", 10, 0);
        /* (the struct is the holder's until the layers hold it) */
        sv_magicext(holder, NULL, PERL_MAGIC_ext, &bsd_sock_vtbl, (const char *)copy, 0);
        copy->family = s->family;
        copy->type = s->type;
        copy->proto = s->proto;
        copy->timeout = s->timeout;
        bsd_sock_take_fd(copy, bsd_dup_cloexec(aTHX_ s->fd, "makefile"));
        bsd_handle_open(aTHX_ gv, copy, want_read, want_write, unbuffered, "makefile");
        return handle;
    }
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

