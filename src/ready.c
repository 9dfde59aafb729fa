/*
 * ready.c - readiness: BSDSocket::select on poll(2), and
 * BSDSocket::Poller on epoll (poll(2) where there is no epoll).
 *
 * An item is a socket object, a Perl handle or a plain fd number
 * (items.c).  Both wait through the one waiting loop, bsd_wait() in
 * call.c, so timeouts, EINTR and Perl's signal handlers behave as in
 * every other call; the epoll backend hands it epoll_wait(2) to wait
 * with.
 *
 * The poller keeps one registration per fd number.  A socket closed while
 * registered must never be reported, nor may whatever file later gets its
 * number: each registration carries a generation number in its epoll
 * data, and before an event is reported the item is asked whether it
 * still has that fd (a socket object, a handle) or, for a bare number,
 * whether the fd is still the same file (fstat).  A registration found
 * stale is dropped; when the kernel still holds it (its file lives on in
 * a dup somewhere, so closing our fd did not remove it), the epoll set is
 * built again without it, under the same fd number.
 */
#define PERL_NO_GET_CONTEXT
#include "EXTERN.h"
#include "perl.h"
#include "XSUB.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bsdsocket.h"
#ifdef BSD_HAVE_EPOLL
#  include <sys/epoll.h>
#endif

/* -------------------------------------------------------------- select */

typedef struct {
    SV   *item;         /* a copy of the caller's item (same referent) */
    int   fd;
    int   slot;         /* its pollfd */
    short list;         /* 0 read, 1 write, 2 error */
    bool  held;         /* readable now: datagrams wait in the socket (gro.c) */
    bsd_sock *sock;     /* a socket item's struct (item holds it), or NULL */
} bsd_select_item;

/* Which poll results put an fd in which list: what Linux's select(2)
 * itself uses (fs/select.c), so the answer is select's. */
#define BSD_SELECT_READ   (POLLIN | POLLHUP | POLLERR)
#define BSD_SELECT_WRITE  (POLLOUT | POLLERR)
#define BSD_SELECT_ERROR  (POLLPRI)

static const short bsd_select_asks[3] = { POLLIN, POLLOUT, POLLPRI };
static const short bsd_select_means[3] = {
    BSD_SELECT_READ, BSD_SELECT_WRITE, BSD_SELECT_ERROR
};

typedef struct { int fd; SSize_t item; } bsd_fd_order;

static int
S_by_fd(const void *a, const void *b)
{
    const int fa = ((const bsd_fd_order *)a)->fd, fb = ((const bsd_fd_order *)b)->fd;
    return fa < fb ? -1 : fa > fb;
}

/* One pollfd per fd, whatever lists it is in; returns how many.  The
 * items are grouped by sorting, not by a table indexed by fd: a number
 * may be as large as an int goes before poll says it is not open. */
static nfds_t
S_merge_fds(pTHX_ bsd_select_item *items, SSize_t n, struct pollfd *pfds)
{
    bsd_fd_order *order;
    SSize_t k;
    nfds_t used = 0;
    order = (bsd_fd_order *)bsd_scratch(aTHX_ (size_t)n, sizeof *order, "select");
    for (k = 0; k < n; k++) {
        order[k].fd = items[k].fd;
        order[k].item = k;
    }
    qsort(order, (size_t)n, sizeof *order, S_by_fd);
    for (k = 0; k < n; k++) {
        bsd_select_item *const it = &items[order[k].item];
        if (!used || pfds[used - 1].fd != it->fd) {
            pfds[used].fd = it->fd;
            pfds[used].events = 0;
            pfds[used].revents = 0;
            used++;
        }
        it->slot = (int)used - 1;
        pfds[used - 1].events |= bsd_select_asks[it->list];
    }
    return used;
}

/* Whether the last wait made any item ready (dies EBADF for an fd that
 * is not open, as select(2)).  Where poll reported something no list
 * asked for (POLLHUP for a socket only in the error list, say), that fd
 * is left out of the next wait: select(2) would not have woken for it. */
static bool
S_any_ready(pTHX_ const bsd_select_item *items, SSize_t n, struct pollfd *pfds, nfds_t used)
{
    SSize_t k;
    nfds_t f;
    bool any = FALSE;
    for (f = 0; f < used; f++)
        if (pfds[f].revents & POLLNVAL)
            bsd_die_errno(aTHX_ "select", EBADF, NULL);
    for (k = 0; k < n && !any; k++)
        any = (pfds[items[k].slot].revents & bsd_select_means[items[k].list]) != 0;
    if (!any)
        for (f = 0; f < used; f++)
            if (pfds[f].revents) {
                pfds[f].fd = ~pfds[f].fd;   /* (poll skips negative fds) */
                pfds[f].revents = 0;
            }
    return any;
}

/* BSDSocket::select(\@read, \@write, \@error, $timeout): the items of
 * each list that are ready, as three new arrays (out[0..2], mortal). */
void
bsd_select(pTHX_ SV *lists[3], SV *timeout_sv, SV **out)
{
    static const char *const names[3] = { "read list", "write list", "error list" };
    const double timeout = bsd_sv_to_timeout(aTHX_ timeout_sv, "select");
    bsd_select_item *items;
    struct pollfd *pfds;
    SSize_t total = 0, k, n;
    double deadline;
    nfds_t used;
    int l;
    bool any_held, scoped;
    AV *avs[3];

    /* every item read (and held) before anything is waited on */
    for (l = 0; l < 3; l++) {
        SV *const list = lists[l];
        avs[l] = NULL;
        if (!list)
            continue;
        SvGETMAGIC(list);
        if (!SvOK(list) && !SvROK(list))
            continue;
        if (!SvROK(list) || SvTYPE(SvRV(list)) != SVt_PVAV)
            bsd_die_arg(aTHX_ "select", "the %s must be an array reference or undef, got %" SVf,
                        names[l], SVfARG(bsd_describe(aTHX_ list)));
        /* (held: the next list's magic could free this one) */
        avs[l] = MUTABLE_AV(sv_2mortal(SvREFCNT_inc_simple_NN(SvRV(list))));
        /* (a tied array says its own size: it may be any number) */
        if ((SSize_t)av_count(avs[l]) > SSize_t_MAX - total)
            bsd_die_errno(aTHX_ "select", ENOMEM, NULL);
        total += (SSize_t)av_count(avs[l]);
    }
    /* (a list too long to allocate for dies ENOMEM, as a recv too big would) */
    items = (bsd_select_item *)bsd_scratch(aTHX_ (size_t)total, sizeof *items, "select");
    n = 0;
    for (l = 0; l < 3; l++) {
        SSize_t i, count;
        if (!avs[l])
            continue;
        count = (SSize_t)av_count(avs[l]);
        for (i = 0; i < count && n < total; i++) {
            SV **const svp = av_fetch(avs[l], i, 0);
            SV *const item = svp ? *svp : &PL_sv_undef;
            bsd_item_info info;
            SvGETMAGIC(item);
            items[n].fd = bsd_item_fd_nomg(aTHX_ item, &info, "select");
            items[n].item = sv_2mortal(newSVsv_nomg(item));
            items[n].list = (short)l;
            items[n].sock = info.kind == BSD_ITEM_SOCK ? info.sock : NULL;
            n++;
        }
    }
    /* a socket whose datagrams wait in it (gro.c) is readable, whatever
     * its fd says: then only look at the others */
    any_held = FALSE;
    if (bsd_gro_holders() > 0)
        for (k = 0; k < n; k++)
            if (items[k].list == 0 && items[k].sock && bsd_gro_holds(items[k].sock))
                any_held = items[k].held = TRUE;

    pfds = (struct pollfd *)bsd_scratch(aTHX_ (size_t)n, sizeof *pfds, "select");
    used = S_merge_fds(aTHX_ items, n, pfds);
    deadline = bsd_wait_deadline(aTHX_ any_held ? 0.0 : timeout, &scoped);
    while (bsd_poll_wait(aTHX_ pfds, used, deadline, NULL, "select") > 0
           && !S_any_ready(aTHX_ items, n, pfds, used))
        ;
    if (scoped && !S_any_ready(aTHX_ items, n, pfds, used))
        bsd_die_timeout(aTHX_ "select");

    for (l = 0; l < 3; l++)
        out[l] = sv_2mortal(newRV_noinc(MUTABLE_SV(newAV())));
    for (k = 0; k < n; k++)
        if (items[k].held || (pfds[items[k].slot].revents & bsd_select_means[items[k].list]))
            av_push(MUTABLE_AV(SvRV(out[items[k].list])), SvREFCNT_inc_simple_NN(items[k].item));
}

/* -------------------------------------------------------------- poller */

typedef struct {
    SV        *item;        /* a copy of what was registered; NULL: free slot */
    SV        *data;        /* reported instead of the item, or NULL */
    bsd_sock  *sock;        /* a socket item's struct, held (refcnt): at global
                               destruction the item's reference may be gone
                               while the socket lives on, or the reverse */
    dev_t      dev;         /* the file it was (checked for handles, bare fds) */
    ino_t      ino;
    U32        gen;         /* this registration's generation */
    short      events;      /* POLL* asked for */
    unsigned char kind;     /* BSD_ITEM_* */
} bsd_watch;

struct bsd_poller {
    int        epfd;        /* the epoll instance; -1 with the poll backend */
    bool       use_poll;
    bool       closed;
    bsd_watch *watch;       /* indexed by fd */
    int        room;        /* slots in watch */
    int        count;       /* registrations */
    U32        next_gen;
    U32        closes_seen; /* bsd_sock_closes() when the sockets were last checked */
};

static void S_sweep(pTHX_ bsd_poller *p, bool every_kind);

/* What a poller may be asked to watch for; POLLERR and POLLHUP always
 * come, asked or not. */
#ifndef POLLRDHUP
#  define POLLRDHUP 0
#endif
#define BSD_POLL_ASKABLE (POLLIN | POLLPRI | POLLOUT | POLLRDHUP | POLLERR | POLLHUP)

#ifdef BSD_HAVE_EPOLL
static uint32_t
S_to_epoll(short events)
{
    return ((events & POLLIN) ? EPOLLIN : 0) | ((events & POLLPRI) ? EPOLLPRI : 0)
         | ((events & POLLOUT) ? EPOLLOUT : 0)
#if POLLRDHUP
         | ((events & POLLRDHUP) ? EPOLLRDHUP : 0)
#endif
         ;
}

static short
S_from_epoll(uint32_t events)
{
    return (short)(((events & EPOLLIN) ? POLLIN : 0) | ((events & EPOLLPRI) ? POLLPRI : 0)
         | ((events & EPOLLOUT) ? POLLOUT : 0) | ((events & EPOLLERR) ? POLLERR : 0)
         | ((events & EPOLLHUP) ? POLLHUP : 0)
#if POLLRDHUP
         | ((events & EPOLLRDHUP) ? POLLRDHUP : 0)
#endif
         );
}

static int
S_epoll_ctl(bsd_poller *p, int op, int fd, const bsd_watch *w)
{
    struct epoll_event ev;
    ev.events = S_to_epoll(w->events);
    ev.data.u64 = ((uint64_t)w->gen << 32) | (uint32_t)fd;
    return epoll_ctl(p->epfd, op, fd, &ev);
}
#endif

/* Drop one registration.  Its item and data are freed when the call is
 * over, not here: their DESTROY could close the poller or grow the table
 * under the caller's feet. */
static void
S_forget(pTHX_ bsd_poller *p, bsd_watch *w)
{
    sv_2mortal(w->item);
    if (w->data)
        sv_2mortal(w->data);
    w->item = w->data = NULL;
    if (w->sock) {
        bsd_sock_release(aTHX_ w->sock);
        w->sock = NULL;
    }
    p->count--;
}

/* (only once the poller is marked closed, so that what a DESTROY run here
 * does to the poller dies EBADF instead of touching the table) */
static void
S_drop_all(pTHX_ bsd_poller *p)
{
    int fd;
    for (fd = 0; fd < p->room; fd++) {
        bsd_watch *const w = &p->watch[fd];
        SV *const item = w->item, *const data = w->data;
        w->item = w->data = NULL;
        if (w->sock) {
            bsd_sock_release(aTHX_ w->sock);
            w->sock = NULL;
        }
        SvREFCNT_dec(item);
        SvREFCNT_dec(data);
    }
    Safefree(p->watch);
    p->watch = NULL;
    p->room = p->count = 0;
}

static void
S_poller_close(pTHX_ bsd_poller *p)
{
    if (p->closed)
        return;
    p->closed = TRUE;
    if (p->epfd >= 0)
        (void)close(p->epfd);
    p->epfd = -1;
    S_drop_all(aTHX_ p);
}

static int
S_poller_free(pTHX_ SV *sv, MAGIC *mg)
{
    PERL_UNUSED_ARG(sv);
    S_poller_close(aTHX_ (bsd_poller *)mg->mg_ptr);
    return 0;
}

/* A new thread gets a copy of the struct, pointing at the parent's
 * registrations and epoll instance: it gets a closed poller instead. */
static int
S_poller_dup(pTHX_ MAGIC *mg, CLONE_PARAMS *param)
{
    bsd_poller *const p = (bsd_poller *)mg->mg_ptr;
    PERL_UNUSED_ARG(param);
    p->epfd = -1;
    p->closed = TRUE;
    p->watch = NULL;
    p->room = p->count = 0;
    return 0;
}

MGVTBL bsd_poller_vtbl = {
    NULL, NULL, NULL, NULL, S_poller_free, NULL, S_poller_dup, bsd_magic_not_local
};

/* BSDSocket::Poller->new(backend => 'epoll' | 'poll'): epoll by default,
 * where there is one, poll otherwise; asked for by name, epoll is that or
 * an error (ENOSYS), never quietly poll. */
SV *
bsd_poller_new(pTHX_ HV *stash, const char *backend)
{
    bsd_poller fresh;
    SV *const obj = newSV_type(SVt_PVMG);
    SV *const rv = sv_2mortal(newRV_noinc(obj));
    MAGIC *mg;
    bsd_poller *p;
    Zero(&fresh, 1, bsd_poller);
    fresh.epfd = -1;
    fresh.closed = TRUE;            /* until it has its epoll instance */
    mg = sv_magicext(obj, NULL, PERL_MAGIC_ext, &bsd_poller_vtbl,
                     (const char *)&fresh, sizeof fresh);
    mg->mg_flags |= MGf_DUP | MGf_LOCAL;
    sv_bless(rv, stash);
    p = (bsd_poller *)mg->mg_ptr;
    p->use_poll = backend && strEQ(backend, "poll");
#ifdef BSD_HAVE_EPOLL
    if (!p->use_poll) {
        p->epfd = epoll_create1(EPOLL_CLOEXEC);
        if (p->epfd < 0) {
            if (errno != ENOSYS || backend)
                bsd_die_errno(aTHX_ "Poller->new", errno, NULL);
            p->use_poll = TRUE;         /* a kernel without epoll */
        }
    }
#else
    if (!p->use_poll && backend)
        bsd_die_errno(aTHX_ "Poller->new", ENOSYS, NULL);
    p->use_poll = TRUE;
#endif
    p->closed = FALSE;
    return rv;
}

bsd_poller *
bsd_poller_of(pTHX_ SV *sv, const char *op)
{
    SV *value = sv;
    bsd_poller *p = NULL;
    if (SvGMAGICAL(value))
        value = sv_mortalcopy(value);
    if (SvROK(value) && SvTYPE(SvRV(value)) >= SVt_PVMG) {
        const MAGIC *const mg = mg_findext(SvRV(value), PERL_MAGIC_ext, &bsd_poller_vtbl);
        if (mg)
            p = (bsd_poller *)mg->mg_ptr;
    }
    if (!p)
        bsd_die_arg(aTHX_ op, "expected a BSDSocket::Poller object, got %" SVf,
                    SVfARG(bsd_describe(aTHX_ value)));
    if (p->closed)
        bsd_die_errno(aTHX_ op, EBADF, NULL);
    /* held for the call: an argument's magic could drop the last reference */
    sv_2mortal(SvREFCNT_inc_simple_NN(SvRV(value)));
    return p;
}

const char *
bsd_poller_backend(bsd_poller *p)
{
    return p->use_poll ? "poll" : "epoll";
}

int
bsd_poller_fileno(bsd_poller *p)
{
    return p->epfd;
}

int
bsd_poller_count(pTHX_ bsd_poller *p)
{
    S_sweep(aTHX_ p, TRUE);
    return p->count;
}

void
bsd_poller_close(pTHX_ bsd_poller *p)
{
    S_poller_close(aTHX_ p);
}

/* Whether a registration still stands for the file it was made for. */
static bool
S_still_there(pTHX_ const bsd_watch *w, int fd)
{
    struct stat st;
    switch (w->kind) {
    case BSD_ITEM_SOCK:         /* (our close sets fd to -1) */
        return w->sock->fd == fd;
    case BSD_ITEM_HANDLE:       /* and open() may put another file under it */
        if (bsd_item_current_fd(aTHX_ w->item) != fd)
            return FALSE;
        /* FALLTHROUGH */
    default:
        return fstat(fd, &st) == 0 && st.st_dev == w->dev && st.st_ino == w->ino;
    }
}

/* Drop the registrations that no longer stand for their file: a socket
 * or handle closed while registered (the epoll set dropped it with the
 * file, so no event would ever report it stale).  Sockets say so cheaply;
 * every_kind also checks handles and bare fds, with fstat. */
static void
S_sweep(pTHX_ bsd_poller *p, bool every_kind)
{
    int fd;
    p->closes_seen = bsd_sock_closes(aTHX);
    for (fd = 0; fd < p->room; fd++) {
        bsd_watch *const w = &p->watch[fd];
        if (w->item && (every_kind || w->kind == BSD_ITEM_SOCK) && !S_still_there(aTHX_ w, fd)) {
#ifdef BSD_HAVE_EPOLL
            if (!p->use_poll)       /* (fails harmlessly when the file is gone) */
                (void)epoll_ctl(p->epfd, EPOLL_CTL_DEL, fd, NULL);
#endif
            S_forget(aTHX_ p, w);
        }
    }
}

/* The registration an item has: by its fd, or (a socket or handle closed
 * since) by what it refers to.  NULL if none. */
static bsd_watch *
S_find(pTHX_ bsd_poller *p, SV *item, int fd)
{
    int i;
    if (fd >= 0 && fd < p->room && p->watch[fd].item) {
        bsd_watch *const w = &p->watch[fd];
        if (!SvROK(item) || (SvROK(w->item) && SvRV(w->item) == SvRV(item)))
            return w;
    }
    if (SvROK(item))
        for (i = 0; i < p->room; i++)
            if (p->watch[i].item && SvROK(p->watch[i].item)
                && SvRV(p->watch[i].item) == SvRV(item))
                return &p->watch[i];
    return NULL;
}

static short
S_events_arg(pTHX_ SV *events_sv, const char *op)
{
    const IV events = bsd_sv_to_iv(aTHX_ events_sv, 0, 0x7fff, "events", op);
    if (events & ~(IV)BSD_POLL_ASKABLE)
        bsd_die_arg(aTHX_ op, "events must be POLLIN, POLLPRI, POLLOUT, POLLRDHUP, POLLERR or "
                              "POLLHUP, or'd together, got %" IVdf, events);
    return (short)events;
}

/* A copy of the data argument, or NULL for none: undef is none, so that
 * poll reports $data // $item. */
static SV *
S_data_arg(pTHX_ SV *data)
{
    if (!data)
        return NULL;
    data = sv_2mortal(newSVsv(data));
    return SvOK(data) ? data : NULL;
}

#ifdef BSD_HAVE_EPOLL
/* Build the epoll set again from the registrations that still stand,
 * under the same fd number: what a stale registration the kernel still
 * holds needs. */
static void
S_rebuild(pTHX_ bsd_poller *p)
{
    const int fresh = epoll_create1(EPOLL_CLOEXEC);
    int fd;
    if (fresh < 0)
        bsd_die_errno(aTHX_ "poll", errno, NULL);
    if (dup3(fresh, p->epfd, O_CLOEXEC) < 0) {
        const int err = errno;
        (void)close(fresh);
        bsd_die_errno(aTHX_ "poll", err, NULL);
    }
    (void)close(fresh);
    for (fd = 0; fd < p->room; fd++) {
        bsd_watch *const w = &p->watch[fd];
        if (w->item && (!S_still_there(aTHX_ w, fd)
                        || S_epoll_ctl(p, EPOLL_CTL_ADD, fd, w) < 0)) {
            S_forget(aTHX_ p, w);
        }
    }
}
#endif

/* $p->register($item, $events, $data?) */
void
bsd_poller_register(pTHX_ bsd_poller *p, SV *item, SV *events_sv, SV *data)
{
    bsd_item_info info;
    bsd_watch *w;
    struct stat st;
    short events;
    int fd;
    SvGETMAGIC(item);
    fd = bsd_item_fd_nomg(aTHX_ item, &info, "register");
    item = sv_2mortal(newSVsv_nomg(item));
    events = S_events_arg(aTHX_ events_sv, "register");
    data = S_data_arg(aTHX_ data);
    if (p->closed)                  /* (the arguments' code may have closed it) */
        bsd_die_errno(aTHX_ "register", EBADF, NULL);
    /* before the table grows to fit it: a bare number may be any int */
    if (fstat(fd, &st) < 0)
        bsd_die_errno(aTHX_ "register", errno, NULL);
    if (fd >= p->room) {
        const int room = fd + 1 > p->room * 2 ? fd + 1 : p->room * 2;
        Renew(p->watch, room, bsd_watch);
        Zero(p->watch + p->room, room - p->room, bsd_watch);
        p->room = room;
    }
    w = &p->watch[fd];
    if (w->item) {
        if (S_still_there(aTHX_ w, fd))
            bsd_die_arg(aTHX_ "register", "fd %d is registered already (modify changes it)", fd);
        S_forget(aTHX_ p, w);           /* a closed one whose number came back */
    }
    w->kind = (unsigned char)info.kind;
    if (info.sock) {
        w->sock = info.sock;
        w->sock->refcnt++;
    }
    w->events = events;
    w->gen = ++p->next_gen;
    w->dev = st.st_dev;         /* (what S_still_there checks a bare fd by) */
    w->ino = st.st_ino;
#ifdef BSD_HAVE_EPOLL
    if (!p->use_poll && S_epoll_ctl(p, EPOLL_CTL_ADD, fd, w) < 0) {
        /* EEXIST: the kernel still has the closed one's registration
         * under this number and file: take it over */
        if (errno != EEXIST || S_epoll_ctl(p, EPOLL_CTL_MOD, fd, w) < 0)
            bsd_die_errno(aTHX_ "register", errno, NULL);
    }
#endif
    w->item = SvREFCNT_inc_simple_NN(item);
    w->data = data ? SvREFCNT_inc_simple_NN(data) : NULL;
    p->count++;
}

/* $p->modify($item, $events, $data?): new events, and the data (left out:
 * none, as Python's selectors do). */
void
bsd_poller_modify(pTHX_ bsd_poller *p, SV *item, SV *events_sv, SV *data)
{
    bsd_item_info info;
    bsd_watch *w;
    short events;
    int fd;
    SvGETMAGIC(item);
    fd = bsd_item_fd_quiet_nomg(aTHX_ item, &info, "modify");
    events = S_events_arg(aTHX_ events_sv, "modify");
    data = S_data_arg(aTHX_ data);
    w = p->closed ? NULL : S_find(aTHX_ p, item, fd);
    if (!w || !S_still_there(aTHX_ w, (int)(w - p->watch)))
        bsd_die_errno(aTHX_ "modify", p->closed ? EBADF : ENOENT, NULL);
    w->events = events;
#ifdef BSD_HAVE_EPOLL
    if (!p->use_poll && S_epoll_ctl(p, EPOLL_CTL_MOD, (int)(w - p->watch), w) < 0)
        bsd_die_errno(aTHX_ "modify", errno, NULL);
#endif
    if (w->data)                    /* (freed after the call: see S_forget) */
        sv_2mortal(w->data);
    w->data = data ? SvREFCNT_inc_simple_NN(data) : NULL;
}

/* $p->unregister($item): also for a socket or handle closed since. */
void
bsd_poller_unregister(pTHX_ bsd_poller *p, SV *item)
{
    bsd_item_info info;
    bsd_watch *w;
    int fd;
    SvGETMAGIC(item);
    fd = bsd_item_fd_quiet_nomg(aTHX_ item, &info, "unregister");
    w = S_find(aTHX_ p, item, fd);
    if (!w)
        bsd_die_errno(aTHX_ "unregister", ENOENT, NULL);
    fd = (int)(w - p->watch);
#ifdef BSD_HAVE_EPOLL
    /* (fails harmlessly when the fd is closed or another file now; a
     * registration the kernel still holds then is caught in poll) */
    if (!p->use_poll)
        (void)epoll_ctl(p->epfd, EPOLL_CTL_DEL, fd, NULL);
#endif
    S_forget(aTHX_ p, w);
}

#ifdef BSD_HAVE_EPOLL
typedef struct { int epfd; struct epoll_event *events; int max; } bsd_epoll_args;

static int
S_epoll_once(void *ctx, int ms)
{
    const bsd_epoll_args *const a = (const bsd_epoll_args *)ctx;
    return epoll_wait(a->epfd, a->events, a->max, ms);
}
#endif

/* Where poll's pairs go: a new array (poll), or the caller's (poll_into),
 * whose pairs from the last time are filled again where nothing else
 * holds them, so that a server loop allocates nothing per event; or,
 * for poll_items, the items alone, in the caller's array, whose scalars
 * from the last time take the new items in place. */
typedef struct {
    AV     *out;
    SSize_t n;          /* pairs (or items) put so far */
    bool    into;       /* the caller's array */
    bool    items;      /* the items alone, no events (poll_items) */
} bsd_report;

/* The caller's array must stay a plain one (no tie, no get or set magic:
 * nothing that runs Perl code while the pairs go in; not read-only).  A
 * signal handler may change that while the poll waits: checked again. */
static void
S_check_into(pTHX_ const bsd_report *r)
{
    AV *const out = r->out;
    if (r->into && (SvGMAGICAL(out) || SvSMAGICAL(out) || SvREADONLY(out) || !AvREAL(out)
                    || (SvRMAGICAL(out) && mg_find(MUTABLE_SV(out), PERL_MAGIC_tied))))
        bsd_die_arg(aTHX_ r->items ? "poll_items" : "poll_into",
                    "the array must be a plain array (not tied, not read-only)");
}

/* A scalar the pair let go of: freed at the statement's end, not now (an
 * object whose last reference it was would run DESTROY, Perl code, in the
 * middle of the reporting). */
#define S_let_go_later(sv) ((void)sv_2mortal(sv))

/* A pair from the last time that only the caller's array holds, as it
 * was made: its two scalars can take the new values. */
static AV *
S_reusable_pair(SV *slot)
{
    AV *pair;
    SV *a, *b;
    if (!slot || !SvROK(slot) || SvREFCNT(slot) != 1 || SvMAGICAL(slot))
        return NULL;
    pair = (AV *)SvRV(slot);
    if (SvTYPE(pair) != SVt_PVAV || SvREFCNT(pair) != 1 || SvMAGICAL(pair) || SvREADONLY(pair)
        || SvOBJECT(pair) || AvFILLp(pair) != 1 || !AvREAL(pair))
        return NULL;
    a = AvARRAY(pair)[0];
    b = AvARRAY(pair)[1];
    /* (plain scalars only: a glob, say, could free something, and run
     * DESTROY, as it takes the new value; the events never hold a ref) */
    if (!a || !b || SvREFCNT(a) != 1 || SvREFCNT(b) != 1 || SvMAGICAL(a) || SvMAGICAL(b)
        || SvREADONLY(a) || SvREADONLY(b) || SvTYPE(a) > SVt_PVMG || SvTYPE(b) > SVt_PVMG
        || SvROK(b))
        return NULL;
    return pair;
}

/* A scalar of ours (nothing else holds it, no magic) takes what: a
 * reference the usual way, as every item's is, costs a pointer swap.  The
 * thing it referred to, if that was its last reference, goes at the
 * statement's end (S_let_go_later). */
static void
S_set_reused(pTHX_ SV *sv, SV *what)
{
    if (SvROK(sv) && SvROK(what) && SvTYPE(sv) == SVt_IV && !SvWEAKREF(sv) && !SvWEAKREF(what)) {
        SV *const old = SvRV(sv);
        SvRV_set(sv, SvREFCNT_inc_simple_NN(SvRV(what)));
        if (SvREFCNT(old) == 1)
            S_let_go_later(old);
        else
            SvREFCNT_dec_NN(old);
        return;
    }
    if (SvROK(sv) && SvREFCNT(SvRV(sv)) == 1)
        S_let_go_later(SvREFCNT_inc_simple_NN(SvRV(sv)));
    sv_setsv_nomg(sv, what);
}

/* A scalar from the last poll_items that only the caller's array holds
 * (a `for my $item (@ready)` that has ended leaves it so), as poll_items
 * made it: it can take the new item. */
static bool
S_reusable_item(SV *slot)
{
    return slot && SvREFCNT(slot) == 1 && !SvMAGICAL(slot) && !SvREADONLY(slot)
        && SvTYPE(slot) <= SVt_PVMG && !SvOBJECT(slot);
}

static void
S_put_item(pTHX_ bsd_report *r, SV *what)
{
    AV *const out = r->out;
    SV *const slot = r->n <= AvFILLp(out) ? AvARRAY(out)[r->n] : NULL;
    if (S_reusable_item(slot))
        S_set_reused(aTHX_ slot, what);
    else if (r->n <= AvFILLp(out)) {
        if (slot)
            S_let_go_later(slot);
        AvARRAY(out)[r->n] = newSVsv_nomg(what);
    }
    else
        av_push(out, newSVsv_nomg(what));
    r->n++;
}

/* One ready registration into the report: its item (poll_items) or its
 * pair. */
static void
S_put_ready(pTHX_ bsd_report *r, SV *what, short revents)
{
    AV *const out = r->out;
    SV *slot;
    AV *pair;
    if (r->n == 0)
        S_check_into(aTHX_ r);  /* (after the wait: once is enough, nothing runs between) */
    if (r->items) {
        S_put_item(aTHX_ r, what);
        return;
    }
    slot = r->n <= AvFILLp(out) ? AvARRAY(out)[r->n] : NULL;
    pair = S_reusable_pair(slot);
    if (pair) {
        S_set_reused(aTHX_ AvARRAY(pair)[0], what);
        sv_setiv(AvARRAY(pair)[1], revents);
    }
    else {
        SV **elems;
        pair = newAV();
        Newx(elems, 2, SV *);
        elems[0] = newSVsv_nomg(what);
        elems[1] = newSViv(revents);
        AvALLOC(pair) = AvARRAY(pair) = elems;
        AvMAX(pair) = AvFILLp(pair) = 1;
        if (r->n <= AvFILLp(out)) {
            if (slot)
                S_let_go_later(slot);
            AvARRAY(out)[r->n] = newRV_noinc(MUTABLE_SV(pair));
        }
        else
            av_push(out, newRV_noinc(MUTABLE_SV(pair)));
    }
    r->n++;
}

/* Hand out one event of registration w (fd) if it still stands; else
 * forget it.  Returns FALSE for a stale one. */
static bool
S_report(pTHX_ bsd_poller *p, bsd_report *r, bsd_watch *w, int fd, short revents)
{
    if (!S_still_there(aTHX_ w, fd)) {
        S_forget(aTHX_ p, w);
        return FALSE;
    }
    /* (at global destruction perl may have cleared our reference to a
     * socket that lives on: there is nothing to hand back) */
    if (!w->data && w->kind == BSD_ITEM_SOCK && !SvROK(w->item))
        return TRUE;
    S_put_ready(aTHX_ r, w->data ? w->data : w->item, revents);
    return TRUE;
}

/* The registered sockets, waiting for POLLIN, whose datagrams wait in
 * them (gro.c): readable, whatever their fds say.  Their fds go into
 * held (a new array, freed with the statement); returns how many. */
static int
S_find_held(pTHX_ bsd_poller *p, int **held)
{
    int fd, n = 0;
    *held = NULL;
    if (bsd_gro_holders() == 0)
        return 0;
    for (fd = 0; fd < p->room; fd++) {
        const bsd_watch *const w = &p->watch[fd];
        if (w->item && w->kind == BSD_ITEM_SOCK && w->sock && (w->events & POLLIN)
            && bsd_gro_holds(w->sock)) {
            if (!*held) {
                Newx(*held, p->count, int);
                SAVEFREEPV(*held);
            }
            (*held)[n++] = fd;
        }
    }
    return n;
}

/* POLLIN if fd is one of the held ones (which is then done), else 0. */
static short
S_take_held(int *held, int n, int fd)
{
    int i;
    for (i = 0; i < n; i++)
        if (held[i] == fd) {
            held[i] = -1;
            return POLLIN;
        }
    return 0;
}

/* The held ones the kernel did not report. */
static void
S_report_held(pTHX_ bsd_poller *p, bsd_report *out, const int *held, int n)
{
    int i;
    for (i = 0; i < n; i++) {
        const int fd = held[i];
        if (fd >= 0 && fd < p->room && p->watch[fd].item)
            (void)S_report(aTHX_ p, out, &p->watch[fd], fd, POLLIN);
    }
}

/* The array, cut to the pairs put this time (what was beyond them goes
 * at the statement's end, as in S_put_ready). */
static AV *
S_reported(pTHX_ bsd_report *r)
{
    SSize_t i;
    if (r->n == 0)
        S_check_into(aTHX_ r);  /* (nothing went in: not checked since the wait) */
    for (i = r->n; i <= AvFILLp(r->out); i++) {
        if (AvARRAY(r->out)[i])
            S_let_go_later(AvARRAY(r->out)[i]);
        AvARRAY(r->out)[i] = NULL;
    }
    AvFILLp(r->out) = r->n - 1;
    return r->out;
}

/* @ready = $p->poll($timeout): [$data // $item, $events] for each ready
 * registration; $timeout undef waits as long as it takes.  into: the
 * caller's array (poll_into, poll_items), or NULL for a new one; items:
 * each $data // $item alone, without its events (poll_items).  Returns
 * the array (the caller's holds the pairs or items, and no more). */
AV *
bsd_poller_poll(pTHX_ bsd_poller *p, SV *self, SV *timeout_sv, AV *into, bool items)
{
    double timeout, deadline;
    bool scoped;
    bsd_report rep;
    bsd_report *const out = &rep;
    int ready, i, nheld;
    int *held;
    /* the poller and the array are held (the caller holds the array
     * already) before any Perl code can run: the timeout's get-magic or
     * overloading, a signal handler, may drop the last reference to them */
    sv_2mortal(SvREFCNT_inc_simple_NN(SvRV(self)));
    rep.out = into ? into : MUTABLE_AV(sv_2mortal(MUTABLE_SV(newAV())));
    rep.into = into != NULL;
    rep.items = items;
    rep.n = 0;
    timeout = bsd_sv_to_timeout(aTHX_ timeout_sv, "poll");
    if (p->closed)              /* (that Perl code closed it) */
        bsd_die_errno(aTHX_ "poll", EBADF, NULL);
    S_check_into(aTHX_ &rep);
    deadline = bsd_wait_deadline(aTHX_ timeout, &scoped);
    if (p->closes_seen != bsd_sock_closes(aTHX))
        S_sweep(aTHX_ p, FALSE);    /* a socket was closed since: is it one of ours? */
    nheld = S_find_held(aTHX_ p, &held);
    if (nheld) {
        deadline = bsd_deadline(0.0);   /* (those are ready: only look at the rest) */
        scoped = FALSE;
    }
#ifdef BSD_HAVE_EPOLL
    if (!p->use_poll) {
        bsd_epoll_args a;
        bool stale = FALSE;
        a.epfd = p->epfd;
        a.max = p->count > 0 ? (p->count < 4096 ? p->count : 4096) : 1;
        Newx(a.events, a.max, struct epoll_event);
        SAVEFREEPV(a.events);
        ready = bsd_wait(aTHX_ S_epoll_once, &a, deadline, NULL, "poll");
        if (p->closed)              /* a signal handler closed it */
            bsd_die_errno(aTHX_ "poll", EBADF, NULL);
        if (ready == 0 && scoped)
            bsd_die_timeout(aTHX_ "poll");
        for (i = 0; i < ready; i++) {
            const uint64_t key = a.events[i].data.u64;
            const int fd = (int)(uint32_t)key;
            bsd_watch *const w = fd < p->room ? &p->watch[fd] : NULL;
            if (!w || !w->item || w->gen != (U32)(key >> 32)
                || !S_report(aTHX_ p, out, w, fd, S_from_epoll(a.events[i].events)
                                                  | S_take_held(held, nheld, fd)))
                stale = TRUE;       /* the kernel holds one we no longer stand by */
        }
        S_report_held(aTHX_ p, out, held, nheld);
        if (stale)
            S_rebuild(aTHX_ p);
        return S_reported(aTHX_ &rep);
    }
#endif
    {
        struct pollfd *pfds;
        int *fds;
        int n = 0, fd;
        Newx(pfds, p->count ? p->count : 1, struct pollfd);
        SAVEFREEPV(pfds);
        Newx(fds, p->count ? p->count : 1, int);
        SAVEFREEPV(fds);
        for (fd = 0; fd < p->room && n < p->count; fd++)
            if (p->watch[fd].item) {
                pfds[n].fd = fd;
                pfds[n].events = p->watch[fd].events;
                pfds[n].revents = 0;
                fds[n++] = fd;
            }
        ready = bsd_poll_wait(aTHX_ pfds, (nfds_t)n, deadline, NULL, "poll");
        if (p->closed)
            bsd_die_errno(aTHX_ "poll", EBADF, NULL);
        if (ready == 0 && scoped)
            bsd_die_timeout(aTHX_ "poll");
        for (i = 0; i < n && ready > 0; i++) {
            bsd_watch *w;
            if (!pfds[i].revents)
                continue;
            ready--;
            fd = fds[i];
            w = fd < p->room ? &p->watch[fd] : NULL;
            if (!w || !w->item)             /* (a signal handler unregistered it) */
                continue;
            if (pfds[i].revents & POLLNVAL) {   /* closed while registered */
                S_forget(aTHX_ p, w);
                continue;
            }
            (void)S_report(aTHX_ p, out, w, fd, pfds[i].revents | S_take_held(held, nheld, fd));
        }
        S_report_held(aTHX_ p, out, held, nheld);
    }
    return S_reported(aTHX_ &rep);
}
