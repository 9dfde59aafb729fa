/*
 * items.c - the fd behind an item: what select, the poller, sendfile,
 * send_fds and fromfd take (a socket object, a Perl handle or a plain fd
 * number), and items that a call holds while Perl code may run.
 */
#define PERL_NO_GET_CONTEXT
#include "EXTERN.h"
#include "perl.h"
#include "XSUB.h"

#include <errno.h>
#include <limits.h>
#include <sys/stat.h>

#include "bsdsocket.h"

/* An item: a socket object, a Perl handle (a glob, a reference to one, an
 * IO object) or a plain fd number.  Returns its fd and says which it is;
 * get-magic has run.  quiet: a closed socket or handle gives -1 instead
 * of dying EBADF (so it can still be unregistered). */
static int
S_item_fd(pTHX_ SV *sv, bsd_item_info *info, const char *op, bool quiet)
{
    IO *io = NULL;
    IV fd = -1;
    info->sock = NULL;
    if (SvROK(sv)) {
        SV *const target = SvRV(sv);
        bsd_sock *const s = bsd_sock_or_null(aTHX_ sv);
        if (s) {
            info->kind = BSD_ITEM_SOCK;
            info->sock = s;
            if (info->sock->fd < 0 && !quiet)
                bsd_die_closed(aTHX_ op);
            return info->sock->fd;
        }
        if (isGV_with_GP(target))
            io = GvIO(MUTABLE_GV(target));
        else if (SvTYPE(target) == SVt_PVIO)
            io = MUTABLE_IO(target);
        else
            bsd_die_arg(aTHX_ op, "expected a socket, a file handle or a fd, got %" SVf,
                        SVfARG(bsd_describe(aTHX_ sv)));
    }
    else if (isGV_with_GP(sv))
        io = GvIO(MUTABLE_GV(sv));
    else if (bsd_parse_iv(aTHX_ sv, 0, INT_MAX, &fd) != BSD_INT_OK)
        bsd_die_arg(aTHX_ op, "fd must be an integer in 0..%d or a file handle, got %" SVf,
                    INT_MAX, SVfARG(bsd_describe(aTHX_ sv)));
    else {
        info->kind = BSD_ITEM_FD;
        return (int)fd;
    }

    info->kind = BSD_ITEM_HANDLE;
    if (io && IoIFP(io))
        fd = PerlIO_fileno(IoIFP(io));
    if (fd < 0 && !quiet)
        bsd_die_errno(aTHX_ op, EBADF, NULL);   /* a handle that is not open */
    return (int)(fd < 0 ? -1 : fd);
}

int
bsd_item_fd_nomg(pTHX_ SV *sv, bsd_item_info *info, const char *op)
{
    return S_item_fd(aTHX_ sv, info, op, FALSE);
}

int
bsd_item_fd_quiet_nomg(pTHX_ SV *sv, bsd_item_info *info, const char *op)
{
    return S_item_fd(aTHX_ sv, info, op, TRUE);
}

int
bsd_item_current_fd(pTHX_ SV *handle)
{
    SV *const target = SvROK(handle) ? SvRV(handle) : handle;
    IO *io = NULL;
    if (isGV_with_GP(target))
        io = GvIO(MUTABLE_GV(target));
    else if (SvTYPE(target) == SVt_PVIO)
        io = MUTABLE_IO(target);
    return io && IoIFP(io) ? PerlIO_fileno(IoIFP(io)) : -1;
}

/* An item a call goes on using while Perl code may run (a signal handler
 * during a wait): taken once, its get-magic run, and held.  Its fd is
 * looked up when the call starts (bsd_held_fd_open, running no Perl code),
 * and again after any Perl code ran (bsd_held_fd_again), which may have
 * closed it, or put another file under its number: the number alone
 * would then read or pass that other file. */
void
bsd_held_fd_take(pTHX_ SV *sv, bsd_held_fd *h)
{
    SvGETMAGIC(sv);
    h->item = sv_2mortal(newSVsv_nomg(sv));
    h->fd = -1;
}

int
bsd_held_fd_open(pTHX_ bsd_held_fd *h, const char *op)
{
    bsd_item_info info;
    struct stat st;
    const int fd = S_item_fd(aTHX_ h->item, &info, op, FALSE);
    if (fstat(fd, &st) < 0)
        bsd_die_errno(aTHX_ op, errno, NULL);       /* EBADF: no such fd */
    h->fd = fd;
    h->dev = st.st_dev;
    h->ino = st.st_ino;
    return fd;
}

int
bsd_held_fd_again(pTHX_ bsd_held_fd *h, const char *op)
{
    bsd_item_info info;
    struct stat st;
    const int fd = S_item_fd(aTHX_ h->item, &info, op, TRUE);
    if (fd < 0 || fstat(fd, &st) < 0 || st.st_dev != h->dev || st.st_ino != h->ino)
        return -1;
    h->fd = fd;
    return fd;
}

int
bsd_fd_of(pTHX_ SV *sv, const char *op)
{
    bsd_item_info info;
    SvGETMAGIC(sv);
    return S_item_fd(aTHX_ sv, &info, op, FALSE);
}
