/*
 * gro.c - UDP receive offload: a coalesced buffer handed out one datagram
 * at a time.
 *
 * With UDP_GRO on (Linux 5.0), the kernel may queue a run of datagrams
 * from one sender, all of one size but the last, as one buffer, and one
 * receive hands over the whole run, with that size in a UDP_GRO control
 * message.  A run costs one trip up the receive path instead of one per
 * datagram, which is most of what receiving UDP costs (bench/, W3R).  The
 * owner turns it on (setsockopt or sockopt UDP_GRO): not recv_many on its
 * own, because the datagrams a run holds beyond what a call takes wait
 * here, where nothing that polls the fd (an event loop) can see them.
 * Once it is on, every receive on the socket, of any kind, reads through
 * here: a buffer is cut into its datagrams, the caller takes what it asked
 * for, and the rest wait for the next receive call.  Nobody sees a
 * coalesced buffer, and nothing is lost or reordered.
 *
 * The datagrams wait where the kernel put them: in the socket's receive
 * area, an entry of 64 KiB (the most one buffer holds) per buffer a read
 * may take.  The kernel writes into the area again only once every
 * datagram in it was taken.
 */
#define PERL_NO_GET_CONTEXT
#include "EXTERN.h"
#include "perl.h"
#include "XSUB.h"

#include <errno.h>
#include <stdlib.h>
#include <netinet/in.h>
#include <netinet/udp.h>

#include "bsdsocket.h"

#define BSD_GRO_ENTRY_BYTES 65536   /* a coalesced buffer is one IP packet's payload at most */
#define BSD_GRO_CONTROL     512     /* UDP_GRO's message, and any the owner asked for
                                       (timestamps, PKTINFO, TTL ...) */
#define BSD_GRO_MAX_ENTRIES 64      /* buffers one recv_many reads at most */

struct bsd_gro {
    unsigned     size;      /* entries allocated */
    unsigned     filled;    /* entries the last read filled */
    bsd_gro_cursor next;    /* the next datagram to hand out */
    size_t       held;      /* bytes not handed out yet */
    bool         counted;   /* counted in S_holders */
    UV           runs;      /* buffers that held more than one datagram */
    bsd_mmsghdr *vec;
    struct iovec *iov;
    bsd_addr    *from;
    size_t      *seg;       /* each entry's datagram size (the last may be shorter) */
    char        *control;   /* BSD_GRO_CONTROL bytes per entry */
    char        *data;      /* BSD_GRO_ENTRY_BYTES per entry */
};

/* How many sockets hold datagrams now, in every thread: readiness
 * (select, the poller) looks for them only while some do.  Only Linux has
 * UDP_GRO, and its compilers have these builtins. */
#ifdef BSD_HAVE_UDP_GRO
static int S_holders;
int
bsd_gro_holders(void)
{
    return __atomic_load_n(&S_holders, __ATOMIC_RELAXED);
}
#else
int
bsd_gro_holders(void)
{
    return 0;
}
#endif

static void
S_count_holding(struct bsd_gro *g)
{
#ifdef BSD_HAVE_UDP_GRO
    const bool holds = g->next.at < g->filled;
    if (holds != g->counted) {
        g->counted = holds;
        (void)__atomic_add_fetch(&S_holders, holds ? 1 : -1, __ATOMIC_RELAXED);
    }
#else
    PERL_UNUSED_ARG(g);
#endif
}

static bool
S_holds(const bsd_sock *s)
{
    return s->gro_area && s->gro_area->next.at < s->gro_area->filled;
}

/* Whether a receive on s must come through here: GRO is on, or datagrams
 * wait here.  The first time a struct is asked, the kernel says: a copy
 * made by dup, fromfd or a new thread shares the setting with the socket
 * it came from. */
bool
bsd_gro_active(bsd_sock *s)
{
    if (s->gro == 0) {
        s->gro = BSD_GRO_OFF;
#ifdef BSD_HAVE_UDP_GRO
        if (bsd_sock_is_udp(s) && s->fd >= 0) {
            int on = 0;
            socklen_t len = sizeof on;
            /* (a kernel that cannot say may still take the setting) */
            s->gro = getsockopt(s->fd, SOL_UDP, UDP_GRO, &on, &len) == 0 && on
                   ? BSD_GRO_ON : BSD_GRO_OFF;
        }
#endif
    }
    return s->gro == BSD_GRO_ON || S_holds(s);
}

void
bsd_gro_forget(bsd_sock *s)
{
    struct bsd_gro *const g = s->gro_area;
    if (!g)
        return;
    s->gro_area = NULL;
    g->filled = 0;
    S_count_holding(g);
    free(g->vec);
    free(g->iov);
    free(g->from);
    free(g->seg);
    free(g->control);
    free(g->data);
    free(g);
}

/* The area, with room for at least `entries` (only called with nothing
 * held: what is there may be dropped); NULL with ENOMEM when there is no
 * memory for it (malloc, not Newx: that is an error the call reports, not
 * perl's "Out of memory!"). */
static struct bsd_gro *
S_area(bsd_sock *s, unsigned entries)
{
    struct bsd_gro *g = s->gro_area;
    UV runs = 0;
    if (g && g->size >= entries)
        return g;
    if (g) {
        runs = g->runs;
        bsd_gro_forget(s);
    }
    g = (struct bsd_gro *)calloc(1, sizeof *g);
    if (!g) {
        errno = ENOMEM;
        return NULL;
    }
    s->gro_area = g;
    g->size = entries;
    g->runs = runs;
    g->vec = (bsd_mmsghdr *)calloc(entries, sizeof *g->vec);
    g->iov = (struct iovec *)calloc(entries, sizeof *g->iov);
    g->from = (bsd_addr *)calloc(entries, sizeof *g->from);
    g->seg = (size_t *)calloc(entries, sizeof *g->seg);
    /* (not zeroed: the kernel says how much of each it wrote) */
    g->control = (char *)malloc((size_t)entries * BSD_GRO_CONTROL);
    g->data = (char *)malloc((size_t)entries * BSD_GRO_ENTRY_BYTES);
    if (!g->vec || !g->iov || !g->from || !g->seg || !g->control || !g->data) {
        bsd_gro_forget(s);
        errno = ENOMEM;
        return NULL;
    }
    return g;
}

/* The datagram size a buffer's UDP_GRO message gives, or 0. */
static size_t
S_segment_size(struct msghdr *msg)
{
#ifdef BSD_HAVE_UDP_GRO
    struct cmsghdr *cm;
    for (cm = msg->msg_controllen ? CMSG_FIRSTHDR(msg) : NULL; cm; cm = CMSG_NXTHDR(msg, cm))
        if (cm->cmsg_level == SOL_UDP && cm->cmsg_type == UDP_GRO
            && cm->cmsg_len >= CMSG_LEN(sizeof(int))) {
            int size;
            Copy(CMSG_DATA(cm), &size, 1, int);
            return size > 0 ? (size_t)size : 0;
        }
#else
    PERL_UNUSED_ARG(msg);
#endif
    return 0;
}

/* Read up to `entries` buffers from the kernel into the area (nothing
 * held).  Returns how many came, or -1 with errno. */
static ssize_t
S_read(bsd_sock *s, unsigned entries, int flags)
{
    struct bsd_gro *const g = S_area(s, entries);
    ssize_t n;
    unsigned i;
    if (!g)
        return -1;
    for (i = 0; i < entries; i++) {
        struct msghdr *const h = &g->vec[i].msg_hdr;
        g->iov[i].iov_base = g->data + (size_t)i * BSD_GRO_ENTRY_BYTES;
        g->iov[i].iov_len = BSD_GRO_ENTRY_BYTES;
        h->msg_iov = &g->iov[i];
        h->msg_iovlen = 1;
        h->msg_name = &g->from[i].u;
        h->msg_namelen = sizeof g->from[i].u;
        h->msg_control = g->control + (size_t)i * BSD_GRO_CONTROL;
        h->msg_controllen = BSD_GRO_CONTROL;
        h->msg_flags = 0;
    }
    /* (a peek takes from the area, which the read fills for good) */
    flags &= ~(MSG_PEEK | MSG_TRUNC);
    if (entries == 1) {
        const ssize_t got = recvmsg(s->fd, &g->vec[0].msg_hdr, flags);
        if (got >= 0)
            g->vec[0].msg_len = (unsigned)got;
        n = got < 0 ? -1 : 1;
    }
    else
        n = bsd_recvmmsg(s->fd, g->vec, entries, flags);
    if (n < 0)
        return -1;
    g->filled = (unsigned)n;
    g->next.at = 0;
    g->next.pos = 0;
    g->held = 0;
    for (i = 0; i < (unsigned)n; i++) {
        const size_t len = g->vec[i].msg_len;
        size_t seg = S_segment_size(&g->vec[i].msg_hdr);
        g->from[i].len = g->vec[i].msg_hdr.msg_namelen;
        /* (Linux echoes MSG_CMSG_CLOEXEC, which a recvmsg caller passes
         * through here: it is no news about the datagram) */
        g->vec[i].msg_hdr.msg_flags &= ~BSD_MSG_CMSG_CLOEXEC;
        if (seg == 0 || seg > len)
            seg = len;              /* one datagram */
        else if (seg < len)
            g->runs++;
        g->seg[i] = seg;
        g->held += len;
    }
    S_count_holding(g);
    return n;
}

/* The datagram at cursor *cur, and the cursor moved past it; FALSE when
 * nothing waits there. */
bool
bsd_gro_next(bsd_sock *s, bsd_gro_cursor *cur, bsd_datagram *d)
{
    const struct bsd_gro *const g = s->gro_area;
    size_t len;
    if (!g || cur->at >= g->filled)
        return FALSE;
    len = g->vec[cur->at].msg_len - cur->pos;
    if (len > g->seg[cur->at])
        len = g->seg[cur->at];
    d->data = g->data + (size_t)cur->at * BSD_GRO_ENTRY_BYTES + cur->pos;
    d->len = len;
    d->from = &g->from[cur->at];
    d->msg_flags = g->vec[cur->at].msg_hdr.msg_flags;
    d->entry = cur->at;
    cur->pos += len;
    if (cur->pos >= g->vec[cur->at].msg_len) {
        cur->at++;
        cur->pos = 0;
    }
    return TRUE;
}

void
bsd_gro_start(bsd_sock *s, bsd_gro_cursor *cur)
{
    if (s->gro_area)
        *cur = s->gro_area->next;
    else
        cur->at = 0, cur->pos = 0;
}

/* The datagrams up to cur were handed out. */
void
bsd_gro_commit(bsd_sock *s, const bsd_gro_cursor *cur, size_t bytes)
{
    struct bsd_gro *const g = s->gro_area;
    if (!g)
        return;
    g->next = *cur;
    g->held -= bytes < g->held ? bytes : g->held;
    if (g->next.at >= g->filled)
        g->held = 0;
    S_count_holding(g);
}

size_t
bsd_gro_held(const bsd_sock *s)
{
    return S_holds(s) ? s->gro_area->held : 0;
}

/* (an empty datagram is a datagram: this, not the bytes, says whether
 * the socket has something to hand out) */
bool
bsd_gro_holds(const bsd_sock *s)
{
    return S_holds(s);
}

UV
bsd_gro_runs(const bsd_sock *s)
{
    return s->gro_area ? s->gro_area->runs : 0;
}

/* An attempt (call.c): datagrams waiting here, or a read of up to
 * c->x.mmsg.count buffers.  Returns how many buffers wait. */
ssize_t
bsd_gro_attempt_fill(pTHX_ bsd_call *c)
{
    bsd_sock *const s = c->sock;
    unsigned entries = c->x.mmsg.count;
    PERL_UNUSED_CONTEXT;
    /* (a signal handler that received in the middle of the call may have
     * left some: those come first) */
    if (S_holds(s))
        return (ssize_t)(s->gro_area->filled - s->gro_area->next.at);
    if (entries > BSD_GRO_MAX_ENTRIES)
        entries = BSD_GRO_MAX_ENTRIES;
    return S_read(s, entries ? entries : 1, c->flags);
}

/* The control messages that came with entry e, but UDP_GRO's, into the
 * caller's room (msg_control, msg_controllen), whole ones only; sets
 * msg_controllen, and MSG_CTRUNC in *flags when one did not fit. */
static void
S_copy_control(const struct bsd_gro *g, unsigned e, struct msghdr *msg, int *flags)
{
    struct msghdr *const from = (struct msghdr *)&g->vec[e].msg_hdr;
    char *const room = (char *)msg->msg_control;
    const size_t size = room ? msg->msg_controllen : 0;
    size_t used = 0;
    struct cmsghdr *cm;
    for (cm = from->msg_controllen ? CMSG_FIRSTHDR(from) : NULL; cm; cm = CMSG_NXTHDR(from, cm)) {
        size_t space;
#ifdef BSD_HAVE_UDP_GRO
        if (cm->cmsg_level == SOL_UDP && cm->cmsg_type == UDP_GRO)
            continue;
#endif
        if (cm->cmsg_len > size - used) {
            *flags |= MSG_CTRUNC;
            break;
        }
        Copy(cm, room + used, cm->cmsg_len, char);
        space = CMSG_ALIGN(cm->cmsg_len);
        used += space < size - used ? space : size - used;
    }
    msg->msg_controllen = used;
}

/* recvmsg(2) on s, through the area: the next datagram into msg's
 * buffers, its sender into msg_name, the control messages that came with
 * it into msg_control.  MSG_PEEK leaves it where it is; MSG_TRUNC gives
 * its whole length.  Returns the bytes, or -1 with errno. */
ssize_t
bsd_gro_recvmsg(bsd_sock *s, struct msghdr *msg, int flags)
{
    bsd_gro_cursor cur;
    bsd_datagram d;
    size_t copied = 0;
    int msg_flags;
    size_t i;
    if (flags & (MSG_ERRQUEUE | MSG_OOB))
        return recvmsg(s->fd, msg, flags);
    if (!S_holds(s) && S_read(s, 1, flags) < 0)
        return -1;
    bsd_gro_start(s, &cur);
    if (!bsd_gro_next(s, &cur, &d)) {       /* (cannot be: a read takes at least one) */
        errno = EAGAIN;
        return -1;
    }
    /* (the kernel's MSG_CTRUNC stands: the area's room cut a message) */
    msg_flags = d.msg_flags & ~MSG_TRUNC;
    for (i = 0; i < (size_t)msg->msg_iovlen && copied < d.len; i++) {
        size_t n = d.len - copied;
        if (n > msg->msg_iov[i].iov_len)
            n = msg->msg_iov[i].iov_len;
        Copy(d.data + copied, msg->msg_iov[i].iov_base, n, char);
        copied += n;
    }
    if (copied < d.len)
        msg_flags |= MSG_TRUNC;
    if (msg->msg_name) {
        socklen_t n = d.from->len;
        if (n > msg->msg_namelen)
            n = msg->msg_namelen;
        Copy(&d.from->u, msg->msg_name, n, char);
        msg->msg_namelen = d.from->len;
    }
    S_copy_control(s->gro_area, d.entry, msg, &msg_flags);
    msg->msg_flags = msg_flags;
    if (!(flags & MSG_PEEK))
        bsd_gro_commit(s, &cur, d.len);
    return (ssize_t)((flags & MSG_TRUNC) ? d.len : copied);
}

/* recv/recvfrom on s, through the area (from: the sender, or NULL). */
ssize_t
bsd_gro_recv(bsd_sock *s, char *buf, size_t len, int flags, bsd_addr *from)
{
    struct msghdr msg;
    struct iovec iov;
    ssize_t n;
    Zero(&msg, 1, struct msghdr);
    iov.iov_base = buf;
    iov.iov_len = len;
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    if (from) {
        msg.msg_name = &from->u;
        msg.msg_namelen = sizeof from->u;
    }
    n = bsd_gro_recvmsg(s, &msg, flags);
    if (n >= 0 && from)
        from->len = msg.msg_namelen;
    return n;
}
