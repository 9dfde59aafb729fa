/*
 * framing.c - recv_exact and recv_until: a read of a known length, or up
 * to a delimiter, that loses nothing.
 *
 * Each is one call to the driver (call.c), so the socket's timeout, or a
 * scoped deadline, is one deadline for the whole read however many
 * receives it takes.  However it fails (the time runs out, the peer ends
 * first, recv_until's limit is reached, an error, a signal handler that
 * dies), the bytes that did arrive go back to the front of the socket's
 * read buffer (handle.c), where the next read of any kind finds them;
 * and recv_until puts back what it read past its delimiter the same way.
 * Only a byte stream has a front to put bytes back at: a datagram socket
 * is refused.
 */
#define PERL_NO_GET_CONTEXT
#include "EXTERN.h"
#include "perl.h"
#include "XSUB.h"

#include <errno.h>
#include <string.h>

#include "bsdsocket.h"

/* recv_until reads in pieces of this much at first, doubling: a short
 * line costs no big buffer. */
#define BSD_FRAME_FIRST_PIECE 4096

typedef struct {
    SV         *data;       /* what arrived (a mortal of our own) */
    STRLEN      have;
    STRLEN      most;       /* recv_exact: the length; recv_until: the limit */
    const char *delim;      /* recv_until's delimiter, or NULL */
    STRLEN      delim_len;
    STRLEN      keep;       /* recv_until: the bytes up to and including it */
    bool        eof;        /* the peer ended first */
    bool        done;       /* the read is complete: nothing goes back */
    bsd_sock   *sock;       /* held until the bytes are back */
    const char *op;
} bsd_frame;

/* Whether the frame is complete (or, for recv_until, at its limit),
 * looking for the delimiter in what came since `from`. */
static bool
S_complete(bsd_frame *fr, STRLEN from)
{
    if (!fr->delim)
        return fr->have >= fr->most;
    if (fr->have >= fr->delim_len) {
        const char *const buf = SvPVX(fr->data);
        STRLEN at = from >= fr->delim_len ? from - fr->delim_len + 1 : 0;
        for (; at + fr->delim_len <= fr->have; at++) {
            const char *const hit = (const char *)memchr(buf + at, fr->delim[0],
                                                        fr->have - fr->delim_len + 1 - at);
            if (!hit)
                break;
            at = (STRLEN)(hit - buf);
            if (memEQ(hit, fr->delim, fr->delim_len)) {
                fr->keep = at + fr->delim_len;
                return TRUE;
            }
        }
    }
    return fr->have >= fr->most;
}

/* Point the call at room for the next piece: what is there, doubled,
 * and at least the first piece (so a length the peer sent, recv_exact's
 * $n, costs memory only as the bytes come). */
static void
S_next_piece(pTHX_ bsd_frame *fr, bsd_call *c)
{
    STRLEN piece = fr->most - fr->have;
    const STRLEN grow = fr->have > BSD_FRAME_FIRST_PIECE ? fr->have : BSD_FRAME_FIRST_PIECE;
    if (piece > grow)
        piece = grow;
    if (piece > BSD_MAX_IO)
        piece = BSD_MAX_IO;
    c->buf = bsd_grow_or_die(aTHX_ fr->data, fr->have + piece, fr->op) + fr->have;
    c->len = piece;
}

/* A piece arrived: done, or on to the next. */
static bool
S_frame_piece(pTHX_ bsd_call *c, ssize_t n)
{
    bsd_frame *const fr = (bsd_frame *)c->ctx;
    const STRLEN before = fr->have;
    if (n == 0) {
        fr->eof = TRUE;
        return TRUE;
    }
    fr->have += (STRLEN)n;
    SvCUR_set(fr->data, fr->have);
    if (S_complete(fr, before))
        return TRUE;
    S_next_piece(aTHX_ fr, c);
    return FALSE;
}

/* A handler read the handle while the call waited: bytes it buffered came
 * after ours, and ours cannot go in front of them and on.  Stop: ours go
 * back in front (S_put_back), in the order they came. */
static void
S_recheck(pTHX_ bsd_call *c)
{
    bsd_frame *const fr = (bsd_frame *)c->ctx;
    PERL_UNUSED_CONTEXT;
    if (!c->stop && bsd_has_buffered(fr->sock))
        c->stop = EBUSY;
}

/* However the read ends but complete (a die included: this runs as the
 * scope unwinds), what arrived goes back to the front of the buffer. */
static void
S_put_back(pTHX_ void *p)
{
    bsd_frame *const fr = (bsd_frame *)p;
    if (!fr->done && fr->sock->fd >= 0)
        bsd_unread(aTHX_ fr->sock, SvPVX(fr->data), fr->have);
    SvREFCNT_dec(fr->data);
    bsd_sock_release(aTHX_ fr->sock);
}

/* The read failed: the error (the bytes go back as the die unwinds). */
static void S_fail(pTHX_ bsd_frame *fr, bsd_call *c, int err) __attribute__noreturn__;
static void
S_fail(pTHX_ bsd_frame *fr, bsd_call *c, int err)
{
    if (fr->eof) {
        bsd_error e = BSD_ERROR(fr->op, 0);
        e.klass = BSD_EOF_CLASS;
        e.has_errno = FALSE;
        e.message = newSVpvf("end of file after %" UVuf " bytes", (UV)fr->have);
        e.received = (IV)fr->have;
        bsd_throw(aTHX_ &e);
    }
    if (c && c->timed_out)
        bsd_die_timeout(aTHX_ fr->op);
    if (c)
        bsd_call_die(aTHX_ c, err);
    bsd_die_errno(aTHX_ fr->op, err, NULL);
}

static SV *
S_read_frame(pTHX_ bsd_sock *s, SV *self, bsd_frame *fr, int flags)
{
    SV *result;
    if (flags & MSG_PEEK)
        bsd_die_arg(aTHX_ fr->op, "flags: MSG_PEEK would read the same bytes again and again");
    if (s->type != SOCK_STREAM) {
        bsd_error e = BSD_ERROR(fr->op, EOPNOTSUPP);
        e.message = newSVpvf("%s reads a byte stream, and this is not a SOCK_STREAM socket", fr->op);
        bsd_throw(aTHX_ &e);
    }
    /* a signal handler's read, in the middle of a read of the handle's:
     * the bytes could not go back where they belong */
    if (bsd_read_side_busy(s))
        bsd_die_errno(aTHX_ fr->op, EBUSY, NULL);
    /* (not a mortal: a die frees those before its unwinding puts the
     * bytes back; S_put_back lets go of it) */
    fr->data = newSV(0);
    fr->have = 0;
    ENTER;
    fr->sock = s;
    s->refcnt++;
    SAVEDESTRUCTOR_X(S_put_back, fr);
    (void)bsd_grow_or_die(aTHX_ fr->data, 1, fr->op);
    SvPOK_only(fr->data);
    SvCUR_set(fr->data, 0);
    if (bsd_has_buffered(s)) {
        /* what the handle read ahead comes first (as much as may be needed) */
        STRLEN take = bsd_sock_pending(s);
        if (take > fr->most)
            take = fr->most;
        fr->have = bsd_take_buffered(s, bsd_grow_or_die(aTHX_ fr->data, take, fr->op), take, 0);
        SvCUR_set(fr->data, fr->have);
    }
    if (!S_complete(fr, 0)) {
        bsd_call c;
        bsd_call_init(&c, s, self, fr->op, POLLIN, bsd_attempt_recv);
        c.mode = BSD_CALL_ERRNO;
        c.progress = S_frame_piece;
        c.recheck = S_recheck;
        c.ctx = fr;
        c.flags = flags | BSD_NOWAIT(s);
        S_next_piece(aTHX_ fr, &c);
        if (bsd_call_run(aTHX_ &c) < 0)
            S_fail(aTHX_ fr, &c, c.err);
        if (fr->eof)
            S_fail(aTHX_ fr, NULL, 0);
    }
    if (fr->delim && !fr->keep)     /* the limit, and no delimiter */
        S_fail(aTHX_ fr, NULL, EMSGSIZE);
    fr->done = TRUE;
    if (fr->delim) {
        /* what came past the delimiter is the next read's */
        bsd_unread(aTHX_ s, SvPVX(fr->data) + fr->keep, fr->have - fr->keep);
        SvCUR_set(fr->data, fr->keep);
    }
    result = sv_2mortal(SvREFCNT_inc_simple_NN(fr->data));
    LEAVE;
    SvPVX(result)[SvCUR(result)] = '\0';
    return bsd_tainted(result);
}

/* recv_exact($n, $flags): exactly $n bytes. */
SV *
bsd_sock_recv_exact(pTHX_ bsd_sock *s, SV *self, STRLEN n, int flags)
{
    bsd_frame fr;
    Zero(&fr, 1, bsd_frame);
    fr.most = n;
    fr.op = "recv_exact";
    return S_read_frame(aTHX_ s, self, &fr, flags);
}

/* recv_until($delimiter, $max): the bytes up to and including the first
 * $delimiter, at most $max in all. */
SV *
bsd_sock_recv_until(pTHX_ bsd_sock *s, SV *self, SV *delimiter, STRLEN most)
{
    bsd_frame fr;
    STRLEN len;
    const char *const delim = bsd_sv_to_bytes(aTHX_ delimiter, &len, "delimiter", "recv_until");
    if (len == 0)
        bsd_die_arg(aTHX_ "recv_until", "delimiter must not be empty");
    if (most < len)
        bsd_die_arg(aTHX_ "recv_until", "max must be at least the delimiter's length (%" UVuf "), got %" UVuf,
                    (UV)len, (UV)most);
    Zero(&fr, 1, bsd_frame);
    /* (a copy: the delimiter's scalar is the caller's, and a signal
     * handler could change it while the call waits) */
    fr.delim = SvPVX(sv_2mortal(newSVpvn(delim, len)));
    fr.delim_len = len;
    fr.most = most;
    fr.op = "recv_until";
    return S_read_frame(aTHX_ s, self, &fr, 0);
}
