/*
 * framing.c - recv_exact and recv_until: a read of a known length, or up
 * to a delimiter, that loses nothing.
 *
 * Each is one call to the driver (call.c), so the socket's timeout, or a
 * scoped deadline, is one deadline for the whole read however many
 * receives it takes.  However it fails (the time runs out, the peer ends
 * first, recv_until's limit is reached, an error), the bytes that did
 * arrive go back to the front of the socket's read buffer (handle.c),
 * where the next read of any kind finds them; and recv_until puts back
 * what it read past its delimiter the same way.
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

/* Point the call at room for the next piece. */
static void
S_next_piece(pTHX_ bsd_frame *fr, bsd_call *c)
{
    STRLEN piece = fr->most - fr->have;
    if (fr->delim) {
        /* (what is there, doubled, and at least the first piece) */
        const STRLEN grow = fr->have > BSD_FRAME_FIRST_PIECE ? fr->have : BSD_FRAME_FIRST_PIECE;
        if (piece > grow)
            piece = grow;
    }
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

/* The read failed: what arrived goes back, then the error. */
static void S_fail(pTHX_ bsd_sock *s, bsd_frame *fr, bsd_call *c, int err) __attribute__noreturn__;
static void
S_fail(pTHX_ bsd_sock *s, bsd_frame *fr, bsd_call *c, int err)
{
    bsd_unread(aTHX_ s, SvPVX(fr->data), fr->have);
    if (fr->eof) {
        bsd_error e = BSD_ERROR(fr->op, 0);
        e.klass = BSD_EOF_CLASS;
        e.has_errno = FALSE;
        e.message = newSVpvf("end of file after %" UVuf " bytes", (UV)fr->have);
        e.received = (IV)fr->have;
        bsd_throw(aTHX_ &e);
    }
    if (err == ETIMEDOUT)           /* (what BSD_CALL_ERRNO makes of a timeout) */
        bsd_die_timeout(aTHX_ fr->op);
    if (c)
        bsd_call_die(aTHX_ c, err);
    bsd_die_errno(aTHX_ fr->op, err, NULL);
}

static SV *
S_read_frame(pTHX_ bsd_sock *s, SV *self, bsd_frame *fr, int flags)
{
    if (flags & MSG_PEEK)
        bsd_die_arg(aTHX_ fr->op, "flags: MSG_PEEK would read the same bytes again and again");
    fr->data = sv_newmortal();
    fr->have = 0;
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
        c.ctx = fr;
        c.flags = flags | BSD_NOWAIT(s);
        S_next_piece(aTHX_ fr, &c);
        if (bsd_call_run(aTHX_ &c) < 0)
            S_fail(aTHX_ s, fr, &c, c.err);
        if (fr->eof)
            S_fail(aTHX_ s, fr, NULL, 0);
    }
    if (fr->delim) {
        if (!fr->keep) {            /* the limit, and no delimiter */
            S_fail(aTHX_ s, fr, NULL, EMSGSIZE);
        }
        /* what came past the delimiter is the next read's */
        bsd_unread(aTHX_ s, SvPVX(fr->data) + fr->keep, fr->have - fr->keep);
        SvCUR_set(fr->data, fr->keep);
    }
    SvPVX(fr->data)[SvCUR(fr->data)] = '\0';
    return bsd_tainted(fr->data);
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
