/*
 * msg.c - the data-transfer calls beyond send and recv: sendmsg and
 * recvmsg with ancillary data, send_fds and recv_fds, sendfile, and
 * send_many and recv_many on sendmmsg and recvmmsg.
 *
 * Every one of them waits, when it must, through the driver (call.c);
 * sendfile and send_many move data in pieces, which the driver counts
 * through their progress functions.  Scalars the caller
 * handed us are read with their magic run once; when that magic (or an
 * overload method) can run Perl code, which could free or change what we
 * already took pointers into, the scalars are held for the call.
 */
#define PERL_NO_GET_CONTEXT
#include "EXTERN.h"
#include "perl.h"
#include "XSUB.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <stdint.h>
#include <unistd.h>

#include "bsdsocket.h"
#ifdef BSD_HAVE_LINUX_SENDFILE
#  include <sys/sendfile.h>
#endif

/* The most messages one sendmmsg or recvmmsg takes (Linux: UIO_MAXIOV). */
#define BSD_BATCH_MAX 1024
/* The most fds recv_fds makes room for (Linux's SCM_MAX_FD is 253). */
#define BSD_FDS_MAX 253
/* What the kernel may put before the fds: credentials (the largest,
 * FreeBSD's struct cmsgcred, is 84 bytes) and, on Linux, a pidfd, which
 * is an fd too.  Linux headers older than the kernel (6.5) lack its name;
 * elsewhere its number is another message, whose data is no fd. */
#define BSD_FDS_EXTRA_ROOM (CMSG_SPACE(128) + CMSG_SPACE(sizeof(int)))
#ifdef BSD_HAVE_LINUX_CMSG
#  ifdef SCM_PIDFD
#    define BSD_SCM_PIDFD SCM_PIDFD
#  else
#    define BSD_SCM_PIDFD 0x04
#  endif
#endif

/* The array behind an array reference argument whose get-magic has run,
 * with the array and all its elements held when reading any of them can
 * run Perl code (which could free the others). */
static AV *
S_list_nomg(pTHX_ SV *list, const char *what, const char *op)
{
    AV *av;
    SSize_t i, n;
    bool can_run_code;
    if (!SvROK(list) || SvTYPE(SvRV(list)) != SVt_PVAV)
        bsd_die_arg(aTHX_ op, "%s must be an array reference, got %" SVf, what,
                    SVfARG(bsd_describe(aTHX_ list)));
    av = MUTABLE_AV(SvRV(list));
    n = (SSize_t)av_count(av);
    can_run_code = cBOOL(SvRMAGICAL(av));
    for (i = 0; i < n && !can_run_code; i++) {
        SV **const svp = av_fetch(av, i, 0);
        if (svp && (SvFLAGS(*svp) & (SVs_GMG | SVs_RMG | SVf_ROK)))
            can_run_code = TRUE;
    }
    if (can_run_code) {
        sv_2mortal(SvREFCNT_inc_simple_NN(MUTABLE_SV(av)));
        for (i = 0; i < n; i++) {
            SV **const svp = av_fetch(av, i, 0);
            if (svp)
                sv_2mortal(SvREFCNT_inc_simple_NN(*svp));
        }
    }
    return av;
}

static AV *
S_list_arg(pTHX_ SV *list, const char *what, const char *op)
{
    SvGETMAGIC(list);
    return S_list_nomg(aTHX_ list, what, op);
}

static SV *
S_item(pTHX_ AV *av, SSize_t i)
{
    SV **const svp = av_fetch(av, i, 0);
    return svp ? *svp : &PL_sv_undef;
}

/* ------------------------------------------------------- send side */

/* Byte strings in two passes, because reading one can run Perl code
 * (magic, overloading) that changes or frees another.  Pass one reads
 * each value once, into plain[i]: the scalar itself when it is a plain
 * byte string, else a mortal copy of its bytes.  Pass two, once no more
 * code will run, takes the pointers, reading plain[i] again: a scalar
 * that code rewrote after pass one read it is sent as it is now, or
 * refused if it is no longer bytes. */
static void
S_read_bytes(pTHX_ SV *item, SV **plain, const char *what, const char *op)
{
    STRLEN len;
    const char *const pv = bsd_sv_to_bytes_nomg(aTHX_ item, &len, what, op);
    /* (a reference has no string buffer to compare with) */
    *plain = (!SvROK(item) && !SvGMAGICAL(item) && SvPOK(item) && pv == SvPVX(item))
           ? item : sv_2mortal(newSVpvn(pv, len));
}

static void
S_point_at_bytes(pTHX_ SV **plain, SSize_t n, struct iovec *iov, const char *what,
                 const char *op)
{
    SSize_t i;
    for (i = 0; i < n; i++) {
        SV *const sv = plain[i];
        STRLEN len;
        if (UNLIKELY(SvGMAGICAL(sv) || SvROK(sv)))   /* reading it now could run code */
            bsd_die_arg(aTHX_ op, "%s changed while the arguments were read", what);
        iov[i].iov_base = (char *)bsd_sv_to_bytes_nomg(aTHX_ sv, &len, what, op);
        iov[i].iov_len = len;
    }
}

/* \@buffers as an iovec array, pointing into the caller's scalars (or
 * mortal copies of what is not plain bytes).  Nothing that can run Perl
 * code may come after this. */
static struct iovec *
S_iovecs(pTHX_ SV *buffers, size_t *count, const char *op)
{
    AV *const av = S_list_arg(aTHX_ buffers, "buffers", op);
    const SSize_t n = (SSize_t)av_count(av);
    struct iovec *const iov = (struct iovec *)bsd_scratch(aTHX_ (size_t)n, sizeof *iov, op);
    SV **const plain = (SV **)bsd_scratch(aTHX_ (size_t)n, sizeof(SV *), op);
    SSize_t i;
    for (i = 0; i < n; i++) {
        SV *const item = S_item(aTHX_ av, i);
        SvGETMAGIC(item);
        S_read_bytes(aTHX_ item, &plain[i], "each buffer", op);
    }
    S_point_at_bytes(aTHX_ plain, n, iov, "each buffer", op);
    *count = (size_t)n;
    return iov;
}

/* An optional address argument: FALSE when it is missing or undef. */
static bool
S_optional_address(pTHX_ bsd_sock *s, SV *sv, bsd_addr *out)
{
    if (!sv)
        return FALSE;
    SvGETMAGIC(sv);
    if (!SvOK(sv) && !SvROK(sv))
        return FALSE;
    bsd_sockaddr_from_sv_nomg(aTHX_ s, s->family, sv, out, 0);
    return TRUE;
}

/* \@ancillary ([$level, $type, $data] each) as a control buffer. */
static char *
S_control(pTHX_ SV *ancillary, size_t *controllen, const char *op)
{
    AV *av;
    SSize_t i, n;
    size_t room = 0;
    char *control;
    struct msghdr fake;
    struct cmsghdr *cm;
    SV **items;

    *controllen = 0;
    if (!ancillary)
        return NULL;
    SvGETMAGIC(ancillary);
    if (!SvOK(ancillary) && !SvROK(ancillary))
        return NULL;
    av = S_list_nomg(aTHX_ ancillary, "ancillary data", op);
    n = (SSize_t)av_count(av);
    if (!n)
        return NULL;
    /* each item converted once, into [level, type, bytes] of our own */
    items = (SV **)bsd_scratch(aTHX_ (size_t)n * 3, sizeof(SV *), op);
    for (i = 0; i < n; i++) {
        SV *const item = S_item(aTHX_ av, i);
        AV *triple;
        SV *elems[3];
        STRLEN len;
        const char *data;
        SSize_t k;
        SvGETMAGIC(item);
        if (!SvROK(item) || SvTYPE(SvRV(item)) != SVt_PVAV || av_count(MUTABLE_AV(SvRV(item))) != 3)
            bsd_die_arg(aTHX_ op, "each ancillary item must be [level, type, data], got %" SVf,
                        SVfARG(bsd_describe(aTHX_ item)));
        triple = MUTABLE_AV(SvRV(item));
        sv_2mortal(SvREFCNT_inc_simple_NN(MUTABLE_SV(triple)));
        for (k = 0; k < 3; k++)
            elems[k] = sv_2mortal(SvREFCNT_inc_simple_NN(S_item(aTHX_ triple, k)));
        items[i * 3] = sv_2mortal(newSViv(bsd_sv_to_iv(aTHX_ elems[0], INT_MIN, INT_MAX,
                                                       "ancillary level", op)));
        items[i * 3 + 1] = sv_2mortal(newSViv(bsd_sv_to_iv(aTHX_ elems[1], INT_MIN, INT_MAX,
                                                           "ancillary type", op)));
        data = bsd_sv_to_bytes(aTHX_ elems[2], &len, "ancillary data", op);
        if (len > (STRLEN)INT_MAX / 2)
            bsd_die_arg(aTHX_ op, "ancillary data is too long");
        items[i * 3 + 2] = sv_2mortal(newSVpvn(data, len));
        room += CMSG_SPACE(len);
    }
    control = (char *)bsd_scratch(aTHX_ room, 1, op);
    Zero(&fake, 1, struct msghdr);
    fake.msg_control = control;
    fake.msg_controllen = room;
    for (cm = CMSG_FIRSTHDR(&fake), i = 0; cm && i < n; cm = CMSG_NXTHDR(&fake, cm), i++) {
        const STRLEN len = SvCUR(items[i * 3 + 2]);
        cm->cmsg_level = (int)SvIVX(items[i * 3]);
        cm->cmsg_type = (int)SvIVX(items[i * 3 + 1]);
        cm->cmsg_len = CMSG_LEN(len);
        Copy(SvPVX(items[i * 3 + 2]), CMSG_DATA(cm), len, char);
    }
    *controllen = room;
    return control;
}

/* The fds send_fds passes: each item held, and where its number goes in
 * the control buffer. */
typedef struct { bsd_held_fd *held; int *fds; SSize_t n; } bsd_fds_out;

/* send_fds: the fds go into the control buffer by number; after Perl
 * code ran (a signal handler during a wait) each is looked up again from
 * its item, and a call whose item was closed, or now has another file
 * under it, dies EBADF rather than pass whatever file holds the number. */
static void
S_recheck_fds(pTHX_ bsd_call *c)
{
    bsd_fds_out *const out = (bsd_fds_out *)c->ctx;
    SSize_t i;
    for (i = 0; i < out->n && !c->stop; i++) {
        const int fd = bsd_held_fd_again(aTHX_ &out->held[i], c->op);
        if (fd < 0)
            c->stop = EBADF;
        out->fds[i] = fd;
    }
}

static ssize_t
S_attempt_sendmsg(pTHX_ bsd_call *c)
{
    ssize_t r;
    PERL_UNUSED_CONTEXT;
    BSD_SEND(r, sendmsg(c->sock->fd, c->x.msg, c->flags));
    return r;
}

/* The buffers are the caller's scalars: copy them before Perl code runs. */
static void
S_guard_sendmsg(pTHX_ bsd_call *c)
{
    struct msghdr *const msg = c->x.msg;
    size_t i;
    for (i = 0; i < msg->msg_iovlen; i++) {
        SV *const copy = sv_2mortal(newSVpvn((char *)msg->msg_iov[i].iov_base,
                                             msg->msg_iov[i].iov_len));
        msg->msg_iov[i].iov_base = SvPVX(copy);
    }
}

/* Whether a control buffer we built holds SCM_RIGHTS. */
static bool
S_carries_fds(char *control, size_t controllen)
{
    struct msghdr fake;
    struct cmsghdr *cm;
    if (!control)
        return FALSE;
    Zero(&fake, 1, struct msghdr);
    fake.msg_control = control;
    fake.msg_controllen = controllen;
    for (cm = CMSG_FIRSTHDR(&fake); cm; cm = CMSG_NXTHDR(&fake, cm))
        if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS)
            return TRUE;
    return FALSE;
}

static ssize_t
S_sendmsg(pTHX_ bsd_sock *s, SV *self, SV *buffers, char *control, size_t controllen,
          int flags, const bsd_addr *to, const char *op, bsd_fds_out *fds)
{
    struct msghdr msg;
    bsd_call c;
    size_t iovcnt;
    SSize_t i;
    Zero(&msg, 1, struct msghdr);
    msg.msg_iov = S_iovecs(aTHX_ buffers, &iovcnt, op);   /* last: see S_iovecs */
    msg.msg_iovlen = iovcnt;
    /* the fds to pass, now that no more Perl code runs before the call */
    for (i = 0; fds && i < fds->n; i++)
        fds->fds[i] = bsd_held_fd_open(aTHX_ &fds->held[i], op);
    if (s->type == SOCK_STREAM && S_carries_fds(control, controllen)) {
        /* Linux sends nothing for no bytes on a stream, and the fds with
         * it: refuse rather than drop them without a word */
        size_t total = 0, k;
        for (k = 0; k < iovcnt; k++)
            total += msg.msg_iov[k].iov_len;
        if (total == 0)
            bsd_die_arg(aTHX_ op, "fds need at least one byte of data to travel with on a stream socket");
    }
    msg.msg_control = control;
    msg.msg_controllen = controllen;
    if (to) {
        msg.msg_name = (void *)&to->u;
        msg.msg_namelen = to->len;
    }
    bsd_call_init(&c, s, self, op, POLLOUT, S_attempt_sendmsg);
    c.peer = to;
    c.guard = S_guard_sendmsg;
    if (fds) {
        c.recheck = S_recheck_fds;
        c.ctx = fds;
    }
    c.x.msg = &msg;
    c.flags = flags | BSD_MSG_NOSIGNAL | BSD_NOWAIT(s);
    return bsd_call_run(aTHX_ &c);
}

/* sendmsg(\@buffers, \@ancillary, $flags, $address?) */
ssize_t
bsd_sock_sendmsg(pTHX_ bsd_sock *s, SV *self, SV *buffers, SV *ancillary, int flags,
                 SV *address)
{
    size_t controllen;
    bsd_addr to;
    /* the buffers last: nothing may run Perl code once they are read */
    char *const control = S_control(aTHX_ ancillary, &controllen, "sendmsg");
    const bool has_to = S_optional_address(aTHX_ s, address, &to);
    return S_sendmsg(aTHX_ s, self, buffers, control, controllen, flags, has_to ? &to : NULL,
                     "sendmsg", NULL);
}

/* send_fds(\@buffers, \@fds, $flags, $address?): the fds (integers, Perl
 * handles or sockets) in one SCM_RIGHTS item. */
ssize_t
bsd_sock_send_fds(pTHX_ bsd_sock *s, SV *self, SV *buffers, SV *fds_sv, int flags,
                  SV *address)
{
    AV *const av = S_list_arg(aTHX_ fds_sv, "fds", "send_fds");
    const SSize_t n = (SSize_t)av_count(av);
    const size_t room = n ? CMSG_SPACE((size_t)n * sizeof(int)) : 0;
    char *control = NULL;
    bsd_fds_out out;
    bsd_addr to;
    bool has_to;
    SSize_t i;
    if (n > BSD_FDS_MAX)
        bsd_die_arg(aTHX_ "send_fds", "at most %d fds go in one message, got %" IVdf,
                    BSD_FDS_MAX, (IV)n);
    out.n = n;
    out.fds = NULL;
    out.held = (bsd_held_fd *)bsd_scratch(aTHX_ (size_t)n, sizeof *out.held, "send_fds");
    for (i = 0; i < n; i++)             /* (each item's magic, once) */
        bsd_held_fd_take(aTHX_ S_item(aTHX_ av, i), &out.held[i]);
    has_to = S_optional_address(aTHX_ s, address, &to);
    if (n) {
        struct msghdr fake;
        struct cmsghdr *cm;
        control = (char *)bsd_scratch(aTHX_ room, 1, "send_fds");
        Zero(&fake, 1, struct msghdr);
        fake.msg_control = control;
        fake.msg_controllen = room;
        cm = CMSG_FIRSTHDR(&fake);
        cm->cmsg_level = SOL_SOCKET;
        cm->cmsg_type = SCM_RIGHTS;
        cm->cmsg_len = CMSG_LEN((size_t)n * sizeof(int));
        out.fds = (int *)CMSG_DATA(cm);
    }
    return S_sendmsg(aTHX_ s, self, buffers, control, room, flags, has_to ? &to : NULL,
                     "send_fds", n ? &out : NULL);
}

/* ------------------------------------------------------- receive side */

typedef struct {
    struct msghdr msg;
    struct iovec  iov;
    bsd_addr      from;
    size_t        controlroom;
    int           msg_flags;    /* as the caller should see them */
} bsd_msg_in;

static ssize_t
S_attempt_recvmsg(pTHX_ bsd_call *c)
{
    bsd_msg_in *const in = (bsd_msg_in *)c->x.msg;
    /* the kernel rewrites these: give each try the full room again */
    in->msg.msg_namelen = sizeof in->from.u;
    in->msg.msg_controllen = in->controlroom;
    PERL_UNUSED_CONTEXT;
    if (bsd_gro_in_play(c->sock))
        return bsd_gro_recvmsg(c->sock, &in->msg, c->flags);
    return recvmsg(c->sock->fd, &in->msg, c->flags);
}

static size_t S_cmsg_data_len(const struct msghdr *msg, const struct cmsghdr *cm);

/* Where recvmsg cannot take MSG_CMSG_CLOEXEC: the fds that came, made
 * close-on-exec now (an exec in another thread in between would take
 * them along: nothing closes that window there). */
static void
S_received_fds_cloexec(const struct msghdr *msg)
{
#ifndef BSD_HAVE_MSG_CMSG_CLOEXEC
    struct cmsghdr *cm;
    for (cm = msg->msg_controllen ? CMSG_FIRSTHDR(msg) : NULL; cm;
         cm = CMSG_NXTHDR((struct msghdr *)msg, cm))
        if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS) {
            const size_t n = S_cmsg_data_len(msg, cm) / sizeof(int);
            size_t i;
            for (i = 0; i < n; i++) {
                int fd;
                Copy(CMSG_DATA(cm) + i * sizeof(int), &fd, 1, int);
                (void)bsd_set_fd_cloexec(fd, TRUE);
            }
        }
#else
    PERL_UNUSED_ARG(msg);
#endif
}

/* recvmsg into buffers of our own; the data scalar is returned (mortal). */
static SV *
S_recvmsg(pTHX_ bsd_sock *s, SV *self, STRLEN bufsize, STRLEN ancbufsize, int flags,
          bsd_msg_in *in, const char *op)
{
    SV *const data = sv_newmortal();
    char *const buf = bsd_grow_or_die(aTHX_ data, bufsize, op);
    /* (not zeroed: the kernel says in msg_controllen how much it wrote,
     * and a big $ancbufsize would cost a page fault per 4 KiB for nothing) */
    char *const control = ancbufsize ? bsd_grow_or_die(aTHX_ sv_newmortal(), ancbufsize, op) : NULL;
    bsd_call c;
    ssize_t n;
    Zero(in, 1, bsd_msg_in);
    in->iov.iov_base = buf;
    in->iov.iov_len = bufsize;
    in->msg.msg_iov = &in->iov;
    in->msg.msg_iovlen = 1;
    in->msg.msg_name = &in->from.u;
    in->msg.msg_control = control;
    in->controlroom = ancbufsize;
    bsd_call_init(&c, s, self, op, POLLIN, S_attempt_recvmsg);
    c.x.msg = &in->msg;                 /* (in starts with it) */
    /* received fds are close-on-exec from the moment they arrive */
    c.flags = flags | BSD_MSG_CMSG_CLOEXEC | BSD_NOWAIT(s);
    if (UNLIKELY(bsd_has_buffered(s)))
        n = (ssize_t)bsd_take_buffered(s, buf, bufsize, flags);   /* (no address, no control) */
    else {
        n = bsd_received(bsd_call_run(aTHX_ &c), bufsize);
        S_received_fds_cloexec(&in->msg);
    }
    SvCUR_set(data, (STRLEN)n);
    buf[n] = '\0';
    (void)SvPOK_only(data);
    (void)bsd_tainted(data);
    /* Linux echoes MSG_CMSG_CLOEXEC back: report only what the caller
     * could have asked about */
    in->msg_flags = in->msg.msg_flags & ~(BSD_MSG_CMSG_CLOEXEC & ~flags);
    in->from.len = in->msg.msg_namelen;
    return data;
}

/* The data length of a received control message, kept inside the
 * buffer whatever cmsg_len claims (a truncated item must not make us read
 * past what the kernel filled in). */
static size_t
S_cmsg_data_len(const struct msghdr *msg, const struct cmsghdr *cm)
{
    const char *const end = (const char *)msg->msg_control + msg->msg_controllen;
    const char *const data = (const char *)CMSG_DATA(cm);
    size_t len;
    if (cm->cmsg_len < CMSG_LEN(0) || data > end)
        return 0;
    len = cm->cmsg_len - CMSG_LEN(0);
    return len > (size_t)(end - data) ? (size_t)(end - data) : len;
}

static SV *
S_address_out(pTHX_ bsd_sock *s, bsd_addr *from)
{
    return sv_2mortal(bsd_sockaddr_to_sv_cached(aTHX_ from, s->family, &s->last_peer));
}

/* recvmsg($bufsize, $ancbufsize, $flags): ($data, \@ancillary, $msg_flags,
 * $address), each ancillary item [$level, $type, $data]. */
void
bsd_sock_recvmsg(pTHX_ bsd_sock *s, SV *self, STRLEN bufsize, STRLEN ancbufsize, int flags,
                 SV **out)
{
    bsd_msg_in in;
    AV *ancillary;
    struct cmsghdr *cm;
    out[0] = S_recvmsg(aTHX_ s, self, bufsize, ancbufsize, flags, &in, "recvmsg");
    ancillary = newAV();        /* only now: nothing after this dies */
    out[1] = sv_2mortal(newRV_noinc(MUTABLE_SV(ancillary)));
    for (cm = in.msg.msg_controllen ? CMSG_FIRSTHDR(&in.msg) : NULL; cm;
         cm = CMSG_NXTHDR(&in.msg, cm)) {
        AV *const item = newAV();
        const size_t len = S_cmsg_data_len(&in.msg, cm);
        av_push(item, newSViv(cm->cmsg_level));
        av_push(item, newSViv(cm->cmsg_type));
        av_push(item, bsd_tainted(newSVpvn((const char *)CMSG_DATA(cm), len)));
        av_push(ancillary, newRV_noinc(MUTABLE_SV(item)));
    }
    out[2] = sv_2mortal(newSViv(in.msg_flags));
    out[3] = S_address_out(aTHX_ s, &in.from);
}

/* recv_fds($bufsize, $maxfds, $flags): ($data, \@handles, $msg_flags,
 * $address); each handle owns its fd.  If a handle cannot be made, the
 * fds not yet in one are closed before the error goes out (those in
 * handles close with them). */
void
bsd_sock_recv_fds(pTHX_ bsd_sock *s, SV *self, STRLEN bufsize, IV maxfds, int flags,
                  SV **out)
{
    bsd_msg_in in;
    AV *handles;
    struct cmsghdr *cm;
    int *all = NULL;
    size_t count = 0, i;
    if (maxfds < 0 || maxfds > BSD_FDS_MAX)
        bsd_die_arg(aTHX_ "recv_fds", "maxfds must be an integer in 0..%d, got %" IVdf,
                    BSD_FDS_MAX, maxfds);
    /* Room for the fds, after what the kernel puts first when the socket
     * asks for it (SO_PASSCRED's credentials, SO_PASSPIDFD's pidfd), which
     * would otherwise use up the room and get every fd dropped.  CMSG_LEN
     * for the fds: the kernel passes as many as whole ints fit, and the
     * padding CMSG_SPACE adds could let one more through than asked for
     * (and the extra room when no credentials come can too: those are
     * closed below). */
    out[0] = S_recvmsg(aTHX_ s, self, bufsize,
                       maxfds ? BSD_FDS_EXTRA_ROOM + CMSG_LEN((size_t)maxfds * sizeof(int)) : 0,
                       flags, &in, "recv_fds");
    handles = newAV();
    out[1] = sv_2mortal(newRV_noinc(MUTABLE_SV(handles)));   /* mortal before any die */
    /* every fd that came, in order, before anything that could die */
    for (cm = in.msg.msg_controllen ? CMSG_FIRSTHDR(&in.msg) : NULL; cm;
         cm = CMSG_NXTHDR(&in.msg, cm)) {
        if (cm->cmsg_level != SOL_SOCKET)
            continue;
        if (cm->cmsg_type == SCM_RIGHTS)
            count += S_cmsg_data_len(&in.msg, cm) / sizeof(int);
#ifdef BSD_SCM_PIDFD
        else if (cm->cmsg_type == BSD_SCM_PIDFD && S_cmsg_data_len(&in.msg, cm) >= sizeof(int)) {
            int pidfd;              /* an fd too, which recv_fds does not return */
            Copy(CMSG_DATA(cm), &pidfd, 1, int);
            (void)close(pidfd);
        }
#endif
    }
    if (count) {
        all = (int *)bsd_scratch(aTHX_ count, sizeof(int), "recv_fds");
        count = 0;
        for (cm = CMSG_FIRSTHDR(&in.msg); cm; cm = CMSG_NXTHDR(&in.msg, cm))
            if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS) {
                const size_t k = S_cmsg_data_len(&in.msg, cm) / sizeof(int);
                Copy(CMSG_DATA(cm), all + count, k, int);
                count += k;
            }
    }
    /* never more handles than asked for: close any extra, say so */
    while (count > (size_t)maxfds) {
        (void)close(all[--count]);
        in.msg_flags |= MSG_CTRUNC;
    }
    for (i = 0; i < count; i++) {
        const int mode = fcntl(all[i], F_GETFL);
        const int access = mode < 0 ? O_RDWR : (mode & O_ACCMODE);
        SV *handle;
        /* a fd that cannot become a handle: close the rest, then die */
        if (mode < 0) {
            const int err = errno;
            size_t j;
            for (j = i; j < count; j++)
                (void)close(all[j]);
            bsd_die_errno(aTHX_ "recv_fds", err, NULL);
        }
        handle = bsd_try_handle_from_fd(aTHX_ all[i], access != O_WRONLY,
                                        access != O_RDONLY, FALSE);
        if (!handle) {                  /* it closed all[i]; close the rest */
            const int err = errno;
            size_t j;
            for (j = i + 1; j < count; j++)
                (void)close(all[j]);
            bsd_die_errno(aTHX_ "recv_fds", err, NULL);
        }
        av_push(handles, SvREFCNT_inc_simple_NN(handle));
    }
    out[2] = sv_2mortal(newSViv(in.msg_flags));
    out[3] = S_address_out(aTHX_ s, &in.from);
}

/* ------------------------------------------------------------ sendfile */

/* A sendfile call: zero-copy with sendfile(2) where the kernel can; where
 * it cannot (a pipe or socket as input), the copying way, a chunk at a
 * time: read (pread at the offset, from a file; as it comes, from
 * anything else), then send, each through the driver. */
typedef struct {
    bsd_held_fd input;      /* the file (its fd is c->x.file.in_fd) */
    IV          count;      /* how much to send, 0: to the end */
    bool        seekable;   /* the copying way: pread, not read */
    char       *chunk;      /* the copying way's buffer */
    size_t      have;       /* bytes of it not sent yet, */
    size_t      at;         /* from here */
} bsd_sendfile;

#define BSD_CHUNK 65536

/* The copying way: a chunk from the input when the last one went, then
 * as much of it as the socket takes.  Returns bytes sent, 0 at the end of
 * the input; EAGAIN names in c->one what to wait for. */
static ssize_t
S_attempt_copy(pTHX_ bsd_call *c)
{
    bsd_sendfile *const f = (bsd_sendfile *)c->ctx;
    ssize_t n;
    PERL_UNUSED_CONTEXT;
    if (f->have == 0) {
        size_t want = BSD_CHUNK;
        ssize_t got;
        if (f->count && (IV)want > f->count - c->sent)
            want = (size_t)(f->count - c->sent);
        if (want == 0)
            return 0;
        c->one.fd = c->x.file.in_fd;        /* (if it has to wait, for the input) */
        c->one.events = POLLIN;
        if (f->seekable)
            got = pread(c->x.file.in_fd, f->chunk, want, c->x.file.offset);
        else if (!bsd_fd_ready(c->x.file.in_fd, POLLIN)) {
            errno = EAGAIN;                 /* (a blocking pipe would block) */
            return -1;
        }
        else
            got = read(c->x.file.in_fd, f->chunk, want);
        if (got <= 0)
            return got;                     /* the end of the input, or its error */
        c->x.file.offset += got;
        f->have = (size_t)got;
        f->at = 0;
    }
    c->one.fd = c->sock->fd;
    c->one.events = POLLOUT;
    BSD_SEND(n, send(c->sock->fd, f->chunk + f->at, f->have, c->flags));
    if (n > 0) {
        f->at += (size_t)n;
        f->have -= (size_t)n;
    }
    return n;
}

/* sendfile(2) itself (Linux), until it says it cannot read this input:
 * then the copying way from here on.  Elsewhere, the copying way from the
 * start (BSD's and macOS's sendfile differ from Linux's, and from each
 * other). */
static ssize_t
S_attempt_sendfile(pTHX_ bsd_call *c)
{
    bsd_sendfile *const f = (bsd_sendfile *)c->ctx;
#ifdef BSD_HAVE_LINUX_SENDFILE
    ssize_t r;
    int err;
    const size_t want = f->count ? BSD_IO_LEN(f->count - c->sent) : BSD_MAX_IO;
    /* sendfile(2) has no MSG_NOSIGNAL: SIGPIPE is held off around it */
    bsd_sigpipe_held held;
    bsd_sigpipe_hold(&held);
    r = sendfile(c->sock->fd, c->x.file.in_fd, &c->x.file.offset, want);
    err = errno;
    /* (a call that sent part of the file before the peer went away
     * returns that count, and raised SIGPIPE all the same) */
    bsd_sigpipe_release(&held, r < 0 ? err == EPIPE : (size_t)r < want);
#else
    const ssize_t r = -1;
    const int err = ENOSYS;
#endif
    if (r < 0 && c->sent == 0 && (err == EINVAL || err == ENOSYS || err == ESPIPE)) {
        struct stat st;
        f->seekable = fstat(c->x.file.in_fd, &st) == 0 && S_ISREG(st.st_mode);
        if (c->x.file.offset && !f->seekable)
            bsd_die_arg(aTHX_ "sendfile", "an offset needs a file that can seek");
        f->chunk = bsd_grow_or_die(aTHX_ sv_newmortal(), BSD_CHUNK, "sendfile");
        c->attempt = S_attempt_copy;
        return S_attempt_copy(aTHX_ c);
    }
    errno = err;
    return r;
}

/* A piece went (0: the end of the file). */
static bool
S_sendfile_piece(pTHX_ bsd_call *c, ssize_t n)
{
    const bsd_sendfile *const f = (const bsd_sendfile *)c->ctx;
    PERL_UNUSED_CONTEXT;
    c->sent += n;
    return n == 0 || (f->count && c->sent >= f->count);
}

/* After Perl code ran: the input again from its handle (see bsd_held_fd). */
static void
S_recheck_input(pTHX_ bsd_call *c)
{
    const int fd = bsd_held_fd_again(aTHX_ &((bsd_sendfile *)c->ctx)->input, c->op);
    if (fd < 0)
        c->stop = EBADF;
    c->x.file.in_fd = fd;
}

/* sendfile($fh, $offset, $count): one deadline for the whole call, and
 * the error's `sent` says how much went if it fails.  $count 0 or undef:
 * to the end of the file, as in CPython.  The handle's own position is
 * not used or moved. */
STRLEN
bsd_sock_sendfile(pTHX_ bsd_sock *s, SV *self, SV *fh, SV *offset_sv, SV *count_sv)
{
    bsd_sendfile f;
    IV offset;
    bsd_call c;
    Zero(&f, 1, bsd_sendfile);
    bsd_held_fd_take(aTHX_ fh, &f.input);
    offset = offset_sv ? bsd_sv_to_iv(aTHX_ offset_sv, 0, IV_MAX, "offset", "sendfile") : 0;
    if (count_sv) {
        SvGETMAGIC(count_sv);
        if (SvOK(count_sv) || SvROK(count_sv))
            f.count = bsd_iv_nomg(aTHX_ count_sv, 0, IV_MAX, "count", "sendfile");
    }
    bsd_call_init(&c, s, self, "sendfile", POLLOUT, S_attempt_sendfile);
    c.progress = S_sendfile_piece;
    c.recheck = S_recheck_input;
    c.ctx = &f;
    /* (only now: the arguments' Perl code could have closed it) */
    c.x.file.in_fd = bsd_held_fd_open(aTHX_ &f.input, "sendfile");
    c.x.file.offset = (off_t)offset;
    c.sent = 0;
    c.flags = BSD_MSG_NOSIGNAL | BSD_NOWAIT(s);   /* for the copying way's sends */
    ENTER;
    bsd_sock_nonblocking_call(aTHX_ s, FALSE, "sendfile");
    (void)bsd_call_run(aTHX_ &c);
    LEAVE;
    return (STRLEN)c.sent;
}

/* --------------------------------------------------------------- batches */

/*
 * UDP GSO (UDP_SEGMENT, Linux 4.18): a run of datagrams to one address,
 * all of one size but the last (which may be shorter), goes to the kernel
 * as one buffer that the stack cuts into those datagrams after routing,
 * so the run pays for one trip through UDP and IP instead of one each.
 * Loopback UDP spends far more per datagram there than in the system
 * call itself, which is why sendmmsg alone gains little (bench/, W3B).
 * The receiver gets the same datagrams either way.
 */
#define BSD_GSO_MAX_SEGMENTS 64        /* UDP_MAX_SEGMENTS before Linux 6.9 */
#define BSD_GSO_MAX_BYTES    60000     /* well inside one IP packet's 64 KiB */

/* Whether send_many may coalesce on this socket: a UDP socket on a kernel
 * that knows UDP_SEGMENT (an older one would ignore the control message
 * and send one big datagram, so ask; and never on a socket whose owner
 * set UDP_SEGMENT, whose sends the kernel cuts already). */
static bool
S_gso_usable(bsd_sock *s)
{
#ifdef BSD_HAVE_UDP_GSO
    if (s->gso == 0) {
        int size = -1;
        socklen_t len = sizeof size;
        s->gso = bsd_sock_is_udp(s)
              && getsockopt(s->fd, SOL_UDP, UDP_SEGMENT, &size, &len) == 0
              && size == 0 ? 1 : -1;
    }
    return s->gso > 0;
#else
    PERL_UNUSED_ARG(s);
    return FALSE;
#endif
}

static bool
S_same_address(const bsd_addr *a, const bsd_addr *b)
{
    return a->len == b->len && (a->len == 0 || memcmp(&a->u, &b->u, a->len) == 0);
}

/* The room one GSO entry's control message takes. */
#define BSD_GSO_CONTROL CMSG_SPACE(sizeof(uint16_t))

/* Lay messages first..n-1 (their buffers in iov, addresses in names) out
 * as sendmmsg entries from vec on: one per message, or with gso one per
 * run that can go as one.  counts[e] is how many messages entry e holds;
 * control has BSD_GSO_CONTROL bytes per entry.  Returns the entries. */
static SSize_t
S_lay_out(bsd_mmsghdr *vec, unsigned *counts, char *control, struct iovec *iov,
          bsd_addr *names, SSize_t first, SSize_t n, bool gso)
{
    SSize_t e = 0, i = first;
#ifndef BSD_HAVE_UDP_GSO
    PERL_UNUSED_ARG(control);
#endif
    while (i < n) {
        struct msghdr *const h = &vec[e].msg_hdr;
        const size_t seg = iov[i].iov_len;
        size_t total = seg;
        SSize_t j = i + 1;
        if (gso && seg > 0)
            while (j < n && j - i < BSD_GSO_MAX_SEGMENTS
                   && iov[j - 1].iov_len == seg          /* only the last may be short */
                   && iov[j].iov_len > 0 && iov[j].iov_len <= seg
                   && total + iov[j].iov_len <= BSD_GSO_MAX_BYTES
                   && S_same_address(&names[i], &names[j]))
                total += iov[j++].iov_len;
        Zero(h, 1, struct msghdr);
        h->msg_iov = &iov[i];
        h->msg_iovlen = (size_t)(j - i);
        if (names[i].len) {
            h->msg_name = &names[i].u;
            h->msg_namelen = names[i].len;
        }
#ifdef BSD_HAVE_UDP_GSO
        if (j - i > 1) {
            char *const room = control + (size_t)e * BSD_GSO_CONTROL;
            struct cmsghdr *cm;
            const uint16_t size = (uint16_t)seg;
            h->msg_control = room;
            h->msg_controllen = BSD_GSO_CONTROL;
            cm = CMSG_FIRSTHDR(h);
            cm->cmsg_level = SOL_UDP;
            cm->cmsg_type = UDP_SEGMENT;
            cm->cmsg_len = CMSG_LEN(sizeof size);
            Copy(&size, CMSG_DATA(cm), sizeof size, char);
        }
#endif
        counts[e++] = (unsigned)(j - i);
        i = j;
    }
    return e;
}

/* A send_many call's messages, laid out for sendmmsg. */
typedef struct {
    bsd_mmsghdr *vec;        /* the entries: one datagram, or one GSO run */
    unsigned       *counts;     /* how many messages each entry holds */
    struct iovec   *iov;        /* one per message */
    bsd_addr       *names;      /* one per message; len 0: none */
    SSize_t         n;          /* messages */
    SSize_t         entries;    /* entries laid out */
    SSize_t         e;          /* the first entry not sent yet */
    SSize_t         done;       /* messages sent (those of entries before e) */
} bsd_batch;

/* The messages are the caller's scalars: copy every one not yet sent
 * before Perl code runs (a signal handler could change or free them). */
static void
S_guard_batch(pTHX_ bsd_call *c)
{
    const bsd_batch *const b = (const bsd_batch *)c->ctx;
    SSize_t i;
    for (i = b->done; i < b->n; i++) {
        struct iovec *const iov = &b->iov[i];
        SV *const copy = sv_2mortal(newSVpvn((char *)iov->iov_base, iov->iov_len));
        iov->iov_base = SvPVX(copy);
    }
}

static ssize_t
S_sendmmsg_rest(const bsd_call *c, const bsd_batch *b)
{
    const SSize_t left = b->entries - b->e;
    return bsd_sendmmsg(c->sock->fd, b->vec + b->e,
                        (unsigned)(left < BSD_BATCH_MAX ? left : BSD_BATCH_MAX), c->flags);
}

/* One sendmmsg of the entries from b->e on.  A GSO run the kernel refuses
 * as a run (a path MTU below its datagram size, a device or policy that
 * cannot do GSO) is laid out again, one datagram per entry, and that goes
 * at once: inside the attempt, so a retry after a wait or a signal does
 * the same. */
static ssize_t
S_attempt_send_batch(pTHX_ bsd_call *c)
{
    bsd_batch *const b = (bsd_batch *)c->ctx;
    const ssize_t r = S_sendmmsg_rest(c, b);
    const int err = errno;
    PERL_UNUSED_CONTEXT;
    if (r >= 0 || b->counts[b->e] == 1
        || !(err == EINVAL || err == EIO || err == EMSGSIZE || err == ENOPROTOOPT
             || err == EOPNOTSUPP)) {
        errno = err;
        return r;
    }
    if (err != EINVAL && err != EMSGSIZE)      /* the socket cannot: stop asking */
        c->sock->gso = -1;
    b->entries = b->e + S_lay_out(b->vec + b->e, b->counts + b->e, NULL, b->iov,
                                  b->names, b->done, b->n, FALSE);
    return S_sendmmsg_rest(c, b);               /* (one datagram per entry now) */
}

/* r entries went: fewer than offered means the next try starts at the one
 * that did not go, and reports why (sendmmsg drops that error). */
static bool
S_batch_piece(pTHX_ bsd_call *c, ssize_t r)
{
    bsd_batch *const b = (bsd_batch *)c->ctx;
    ssize_t k;
    PERL_UNUSED_CONTEXT;
    for (k = 0; k < r; k++) {
        const struct msghdr *const h = &b->vec[b->e + k].msg_hdr;
        size_t whole = 0, j;
        for (j = 0; j < h->msg_iovlen; j++)
            whole += h->msg_iov[j].iov_len;
        /* (a socket that only claims to be a datagram one, from fromfd:
         * never count a message that did not all go) */
        if (b->vec[b->e + k].msg_len < whole)
            return TRUE;
        b->done += b->counts[b->e + k];
    }
    b->e += r;
    return b->e >= b->entries;
}

/* send_many(\@messages, $address?): each message bytes, or [$bytes,
 * $address] (or a recv_many result); as many go per sendmmsg as it takes,
 * runs of them coalesced with UDP GSO where that can be done.  Returns
 * how many datagrams went: all of them, or fewer when the socket would
 * block (or a send failed) after some went, as send returns a short
 * count.  Nothing sent: the driver waits, or dies. */
IV
bsd_sock_send_many(pTHX_ bsd_sock *s, SV *self, SV *messages, SV *address_sv)
{
    AV *const av = S_list_arg(aTHX_ messages, "messages", "send_many");
    const SSize_t n = (SSize_t)av_count(av);
    SV **const plain = (SV **)bsd_scratch(aTHX_ (size_t)n, sizeof(SV *), "send_many");
    char *control = NULL;
    bsd_addr fallback;
    bool have_fallback, gso;
    bsd_batch b;
    SSize_t i;
    bsd_call c;

    /* a datagram goes whole or not at all; on a stream a short send would
     * count a message that only partly went (sendall is for streams) */
    if (s->type == SOCK_STREAM) {
        bsd_error e = BSD_ERROR("send_many", EOPNOTSUPP);
        e.message = newSVpvs("send_many sends datagrams; on a stream socket use sendall");
        bsd_throw(aTHX_ &e);
    }
    b.vec = (bsd_mmsghdr *)bsd_scratch(aTHX_ (size_t)n, sizeof *b.vec, "send_many");
    b.counts = (unsigned *)bsd_scratch(aTHX_ (size_t)n, sizeof *b.counts, "send_many");
    b.iov = (struct iovec *)bsd_scratch(aTHX_ (size_t)n, sizeof *b.iov, "send_many");
    b.names = (bsd_addr *)bsd_scratch(aTHX_ (size_t)n, sizeof *b.names, "send_many");
    b.n = n;
    have_fallback = S_optional_address(aTHX_ s, address_sv, &fallback);
    /* pass one: everything that can run Perl code (see S_read_bytes) */
    for (i = 0; i < n; i++) {
        SV *item = S_item(aTHX_ av, i);
        SvGETMAGIC(item);
        if (SvROK(item) && SvTYPE(SvRV(item)) == SVt_PVAV && !SvOBJECT(SvRV(item))) {
            AV *const pair = MUTABLE_AV(SvRV(item));
            SV *to;
            /* three is recv_many's [bytes, address, msg_flags]: taken as
             * [bytes, address], so what came in can go straight back */
            if (av_count(pair) != 2 && av_count(pair) != 3)
                bsd_die_arg(aTHX_ "send_many",
                            "a message is bytes or [bytes, address], got an array of %" UVuf,
                            (UV)av_count(pair));
            sv_2mortal(SvREFCNT_inc_simple_NN(MUTABLE_SV(pair)));
            to = sv_2mortal(SvREFCNT_inc_simple_NN(S_item(aTHX_ pair, 1)));
            item = sv_2mortal(SvREFCNT_inc_simple_NN(S_item(aTHX_ pair, 0)));
            sockaddr_from_sv(s, to, &b.names[i]);
            SvGETMAGIC(item);
        }
        else if (have_fallback)
            b.names[i] = fallback;
        S_read_bytes(aTHX_ item, &plain[i], "each message", "send_many");
    }
    /* pass two: the pointers */
    S_point_at_bytes(aTHX_ plain, n, b.iov, "each message", "send_many");
    gso = n > 1 && S_gso_usable(s);
    if (gso)
        control = (char *)bsd_scratch(aTHX_ (size_t)n, BSD_GSO_CONTROL, "send_many");
    b.entries = S_lay_out(b.vec, b.counts, control, b.iov, b.names, 0, n, gso);
    b.e = b.done = 0;

    bsd_call_init(&c, s, self, "send_many", POLLOUT, S_attempt_send_batch);
    c.mode = BSD_CALL_SHORT_OK;     /* some went: say how many, as send would */
    c.progress = S_batch_piece;
    c.guard = S_guard_batch;
    c.ctx = &b;
    c.flags = BSD_MSG_NOSIGNAL | BSD_NOWAIT(s);
    if (b.entries > 0)
        (void)bsd_call_run(aTHX_ &c);
    return b.done;
}

/* A new array reference that takes over the n SVs given. */
static SV *
S_take_array(pTHX_ SV **elems, SSize_t n)
{
    AV *const av = newAV();
    SV **slots;
    /* (allocated and filled in place, as av_make does: av_extend and
     * av_push cost more than the rest of a recv_many item together) */
    Newx(slots, n, SV *);
    Copy(elems, slots, n, SV *);
    AvALLOC(av) = AvARRAY(av) = slots;
    AvMAX(av) = AvFILLp(av) = n - 1;
    return newRV_noinc(MUTABLE_SV(av));
}

/* One of recv_many's items: [$bytes, $address, $msg_flags]. */
static SV *
S_datagram_item(pTHX_ bsd_sock *s, const char *data, size_t len, const bsd_addr *from,
                int msg_flags)
{
    SV *entry[3];
    entry[0] = bsd_tainted(newSVpvn(data, len));
    entry[1] = bsd_sockaddr_to_sv_cached(aTHX_ from, s->family, &s->last_peer);
    entry[2] = newSViv(msg_flags);
    return S_take_array(aTHX_ entry, 3);
}

/* recv_many with UDP GRO (gro.c): a read of up to $count buffers, each
 * of which may hold a run of datagrams, unless datagrams wait from
 * before (then those, and no read); one item per datagram, at most
 * $count, and the rest wait. */
static AV *
S_recv_many_gro(pTHX_ bsd_sock *s, SV *self, IV count, STRLEN bufsize, int flags)
{
    AV *const results = (AV *)sv_2mortal(MUTABLE_SV(newAV()));
    bsd_gro_cursor cur;
    bsd_datagram d;
    size_t taken = 0;
    IV i;
    bsd_call c;
    bsd_call_init(&c, s, self, "recv_many", POLLIN, bsd_gro_attempt_fill);
    c.x.mmsg.count = (unsigned)count;
    c.flags = flags | BSD_NOWAIT(s);
    (void)bsd_call_run(aTHX_ &c);
    /* (nothing below runs Perl code: the area stays as the read left it) */
    bsd_gro_start(s, &cur);
    av_extend(results, (count < 64 ? count : 64) - 1);
    for (i = 0; i < count && bsd_gro_next(s, &cur, &d); i++) {
        const int truncated = d.len > bufsize ? MSG_TRUNC : 0;
        av_push(results, S_datagram_item(aTHX_ s, d.data, truncated ? bufsize : d.len, d.from,
                                         (d.msg_flags & ~MSG_TRUNC) | truncated));
        taken += d.len;
    }
    if (!(flags & MSG_PEEK))
        bsd_gro_commit(s, &cur, taken);
    return results;
}

static ssize_t
S_attempt_recvmmsg(pTHX_ bsd_call *c)
{
    unsigned i;
    PERL_UNUSED_CONTEXT;
    for (i = 0; i < c->x.mmsg.count; i++)   /* the kernel rewrites these */
        c->x.mmsg.vec[i].msg_hdr.msg_namelen = sizeof(((bsd_addr *)0)->u);
    return bsd_recvmmsg(c->sock->fd, c->x.mmsg.vec, c->x.mmsg.count, c->flags);
}

/* recv_many($count, $bufsize, $flags): what is queued, at least one and at
 * most $count datagrams from one recvmmsg, each [$bytes, $address,
 * $msg_flags]; only the first is waited for (MSG_WAITFORONE). */
AV *
bsd_sock_recv_many(pTHX_ bsd_sock *s, SV *self, IV count, STRLEN bufsize, int flags)
{
    SV *const room = sv_newmortal();
    char *buf;
    bsd_mmsghdr *vec;
    struct iovec *iov;
    bsd_addr *names;
    AV *const results = (AV *)sv_2mortal(MUTABLE_SV(newAV()));
    bsd_call c;
    ssize_t got, i;

    if (count < 1 || count > BSD_BATCH_MAX)
        bsd_die_arg(aTHX_ "recv_many", "count must be an integer in 1..%d, got %" IVdf,
                    BSD_BATCH_MAX, count);
    if (bufsize > ((STRLEN)SSize_t_MAX - 1) / (STRLEN)count)
        bsd_die_errno(aTHX_ "recv_many", ENOMEM, NULL);
    if (bsd_gro_in_play(s) && !(flags & (MSG_ERRQUEUE | MSG_OOB)))
        return S_recv_many_gro(aTHX_ s, self, count, bufsize, flags);
    buf = bsd_grow_or_die(aTHX_ room, (STRLEN)count * bufsize, "recv_many");
    vec = (bsd_mmsghdr *)bsd_scratch(aTHX_ (size_t)count, sizeof *vec, "recv_many");
    iov = (struct iovec *)bsd_scratch(aTHX_ (size_t)count, sizeof *iov, "recv_many");
    names = (bsd_addr *)bsd_scratch(aTHX_ (size_t)count, sizeof *names, "recv_many");
    for (i = 0; i < count; i++) {
        iov[i].iov_base = buf + (size_t)i * bufsize;
        iov[i].iov_len = bufsize;
        vec[i].msg_hdr.msg_iov = &iov[i];
        vec[i].msg_hdr.msg_iovlen = 1;
        vec[i].msg_hdr.msg_name = &names[i].u;
    }
    bsd_call_init(&c, s, self, "recv_many", POLLIN, S_attempt_recvmmsg);
    c.x.mmsg.vec = vec;
    c.x.mmsg.count = (unsigned)count;
    c.flags = flags | BSD_NOWAIT(s);
    got = bsd_call_run(aTHX_ &c);

    av_extend(results, got - 1);
    for (i = 0; i < got; i++) {
        names[i].len = vec[i].msg_hdr.msg_namelen;
        av_push(results, S_datagram_item(aTHX_ s, buf + (size_t)i * bufsize,
                                         (size_t)bsd_received(vec[i].msg_len, bufsize),
                                         &names[i], vec[i].msg_hdr.msg_flags));
    }
    return results;
}
