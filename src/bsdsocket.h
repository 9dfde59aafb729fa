/*
 * bsdsocket.h - what BSDSocket.xs and the C files in src/ share.
 *
 * src/README says which file owns what, and the naming rules.  Every
 * function here takes pTHX_ when it touches Perl; the few called on
 * every argument also have a short macro without it (int_arg, ...).
 * Names are prefixed bsd_ because the objects are linked into one shared
 * object together with whatever else perl loads.
 */
#ifndef BSDSOCKET_H
#define BSDSOCKET_H

#include "ppport.h"
#include "perliol.h"

#include "bsd-config.h"     /* BSD_HAVE_*: what Makefile.PL found (compat.c) */

#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <sys/un.h>
#include <poll.h>
#include <signal.h>

#define BSD_SOCKET_CLASS  "BSDSocket::Socket"
#define BSD_ERROR_CLASS   "BSDSocket::Error"
#define BSD_TIMEOUT_CLASS "BSDSocket::Error::Timeout"
#define BSD_GAI_CLASS     "BSDSocket::Error::GAI"
#define BSD_HOST_CLASS    "BSDSocket::Error::Host"
#define BSD_EOF_CLASS     "BSDSocket::Error::EOF"

/* ---------------------------------------------- platforms (compat.c) */

/* The flags a caller may put in a socket type, where the platform has
 * them (0 elsewhere): the module applies them to the fd itself. */
#ifdef SOCK_NONBLOCK
#  define BSD_SOCK_NONBLOCK SOCK_NONBLOCK
#else
#  define BSD_SOCK_NONBLOCK 0
#endif
#ifdef SOCK_CLOEXEC
#  define BSD_SOCK_CLOEXEC SOCK_CLOEXEC
#else
#  define BSD_SOCK_CLOEXEC 0
#endif
/* (a flag value the kernel reads: known where the header has it) */
#ifdef MSG_ERRQUEUE
#  define BSD_MSG_ERRQUEUE MSG_ERRQUEUE
#else
#  define BSD_MSG_ERRQUEUE 0
#endif

/* New fds, close-on-exec and with the blocking mode asked for, by the
 * flags where the platform takes them and by fcntl elsewhere; -1 and
 * errno on failure (nothing left open). */
int     bsd_type_without_flags(int type);
int     bsd_socket(int family, int type, int proto, bool nonblocking);
int     bsd_socketpair(int family, int type, int proto, bool nonblocking, int fds[2]);
int     bsd_accept(int fd, struct sockaddr *sa, socklen_t *len, bool nonblocking);
int     bsd_adopted_fd_setup(int fd);

/* received fds are close-on-exec from the moment they arrive, where
 * recvmsg takes MSG_CMSG_CLOEXEC; elsewhere just after */
#ifdef BSD_HAVE_MSG_CMSG_CLOEXEC
#  define BSD_MSG_CMSG_CLOEXEC MSG_CMSG_CLOEXEC
#else
#  define BSD_MSG_CMSG_CLOEXEC 0
#endif

/* Batches: sendmmsg and recvmmsg where the platform has them (Linux,
 * FreeBSD, NetBSD), one sendmsg or recvmsg per message elsewhere; the
 * loop keeps their rules (a count of messages, the error only when none
 * went, only the first receive waits). */
#ifdef BSD_HAVE_MMSG
typedef struct mmsghdr bsd_mmsghdr;
#else
typedef struct { struct msghdr msg_hdr; unsigned int msg_len; } bsd_mmsghdr;
#endif
int     bsd_sendmmsg(int fd, bsd_mmsghdr *vec, unsigned count, int flags);
int     bsd_recvmmsg(int fd, bsd_mmsghdr *vec, unsigned count, int flags);

/* SIGPIPE held off around a call that could raise it (compat.c). */
typedef struct {
    sigset_t pipe_only, was_blocked;
    bool     was_pending;
} bsd_sigpipe_held;
void    bsd_sigpipe_hold(bsd_sigpipe_held *h);
/* raised: the call says it may have raised SIGPIPE (EPIPE, a short
 * sendfile), and only then is a pending SIGPIPE taken back */
void    bsd_sigpipe_release(bsd_sigpipe_held *h, bool raised);

/* Every send passes BSD_MSG_NOSIGNAL and runs inside BSD_SEND: a peer
 * that went away is EPIPE, never a SIGPIPE that kills perl.  With
 * MSG_NOSIGNAL (Linux, the BSDs) or SO_NOSIGPIPE (macOS: set on every
 * socket, compat.c) the macro is the bare call; elsewhere SIGPIPE is
 * held around it. */
#ifdef BSD_HAVE_MSG_NOSIGNAL
#  define BSD_MSG_NOSIGNAL MSG_NOSIGNAL
#else
#  define BSD_MSG_NOSIGNAL 0
#endif
#if defined(BSD_HAVE_MSG_NOSIGNAL) || defined(BSD_HAVE_SO_NOSIGPIPE)
#  define BSD_SEND(r, call) ((r) = (call))
#else
#  define BSD_SEND(r, call) STMT_START {                                    \
        bsd_sigpipe_held bsd_held_;                                        \
        bsd_sigpipe_hold(&bsd_held_);                                      \
        (r) = (call);                                                      \
        bsd_sigpipe_release(&bsd_held_, (r) < 0 && errno == EPIPE);        \
    } STMT_END
#endif

/* ------------------------------------------- control messages (cmsg.c) */

/* decode_cmsg($level, $type, $data): the message's Perl value (mortal). */
SV     *bsd_decode_cmsg(pTHX_ int level, int type, SV *data);

/* ------------------------------------------------ interfaces (iface.c) */

AV     *bsd_if_nameindex(pTHX);
UV      bsd_if_nametoindex(pTHX_ SV *name, const char *op);
SV     *bsd_if_indextoname(pTHX_ SV *index);

/* ---------------------------------------------------- object (object.c) */

/* The C side of a BSDSocket::Socket.  The object is a blessed glob; the
 * struct hangs off an ext magic on it (mg_ptr), and the vtable pointer of
 * that magic is what proves an object is ours: Perl code cannot forge it.
 * The glob's IO slot is the socket's handle, whose PerlIO layers hold the
 * struct too (handle.c): it is freed with the last of them. */
struct bsd_layer;
typedef struct bsd_sock {
    int    fd;        /* -1 once closed or detached */
    int    family;
    int    type;      /* SOCK_* with SOCK_NONBLOCK/SOCK_CLOEXEC masked off */
    int    proto;
    double timeout;   /* < 0: blocking; 0: non-blocking; > 0: seconds per call */
    SV    *last_peer; /* the address array recvfrom returned last (see
                         bsd_sockaddr_to_sv_cached), or NULL */
    signed char gso;  /* send_many may use UDP GSO: 1 yes, -1 no, 0 not
                         yet asked (msg.c) */
    signed char gro;  /* UDP GRO: BSD_GRO_* (gro.c) */
    struct bsd_gro *gro_area; /* datagrams a coalesced buffer held, which
                         the next receives hand out (gro.c), or NULL */
    double call_deadline; /* the deadline of a call whose address took a
                         lookup (addr.c): it started before the call did */
    const OP *call_deadline_op; /* that call's op (the deadline is its only) */
    U32    refcnt;    /* the object's magic, and its handle's layers */
    struct bsd_layer *rbuf; /* the handle's read side: what it read ahead
                         is where every receive looks first, or NULL */
} bsd_sock;

/* A UDP socket: the one kind the offloads (GSO, GRO) are for. */
PERL_STATIC_INLINE bool
bsd_sock_is_udp(const bsd_sock *s)
{
    return s->type == SOCK_DGRAM && (s->family == AF_INET || s->family == AF_INET6)
        && (s->proto == 0 || s->proto == IPPROTO_UDP);
}

/* A socket option changed: what send_many and the receives know of the
 * UDP offloads may be wrong now, so they ask again. */
PERL_STATIC_INLINE void
bsd_sock_options_changed(bsd_sock *s)
{
    s->gso = 0;
    s->gro = 0;
}

/* Scoped deadlines (BSDSocket::deadline, call.c): how many are in force,
 * in every thread.  While none is, a call's timeout is its socket's and
 * nothing else is looked at; while one is, the timeout is what is left of
 * the deadline when that comes first (at least a moment: a deadline that
 * passed still times out, it never turns a call non-blocking). */
extern int bsd_scoped_deadlines;
double  bsd_scoped_timeout(pTHX_ double timeout);
/* The scoped deadline in force here (bsd_now() seconds), or 0. */
double  bsd_scoped_deadline(pTHX);
void    bsd_scoped_deadlines_add(int n);
/* For a wait outside the driver (select, the poller): the deadline of
 * timeout (0: none), and whether a scoped deadline set it (then the time
 * running out dies, bsd_die_timeout, instead of returning nothing). */
double  bsd_wait_deadline(pTHX_ double timeout, bool *scoped);
/* getaddrinfo within timeout (< 0: none; a scoped deadline counts too),
 * in a thread of its own for a name (lookup.c): its answer, or dies
 * BSDSocket::Error::Timeout (op) when the time runs out.  *res is the
 * caller's to free. */
struct addrinfo;
int     bsd_getaddrinfo_timed(pTHX_ const char *host, const char *service,
                              const struct addrinfo *hints, struct addrinfo **res,
                              double timeout, const char *op);
void    bsd_die_timeout(pTHX_ const char *op) __attribute__noreturn__;
PERL_STATIC_INLINE bool
bsd_scoped_in_force(void)
{
#ifdef __GNUC__
    return __atomic_load_n(&bsd_scoped_deadlines, __ATOMIC_RELAXED) != 0;
#else
    return bsd_scoped_deadlines != 0;
#endif
}
PERL_STATIC_INLINE double
bsd_effective_timeout(pTHX_ double timeout)
{
    if (LIKELY(!bsd_scoped_in_force()))
        return timeout;
    return bsd_scoped_timeout(aTHX_ timeout);
}

/* The flag every send and receive adds on a socket with a timeout (0 or
 * more, or a scoped deadline): the call never blocks in the kernel,
 * whatever O_NONBLOCK says.
 * That flag belongs to the open file description, which a dup, a fromfd
 * copy or a makefile handle shares and may have changed, and a positive
 * timeout leaves it clear (see bsd_set_fd_nonblocking); the socket's own
 * timeout is what counts, and the driver does the waiting. */
#define BSD_NOWAIT(s) (bsd_effective_timeout(aTHX_ (s)->timeout) >= 0 ? MSG_DONTWAIT : 0)

/* The typemap has two names for the same struct: "bsd_sock *" refuses a
 * closed socket (EBADF), "bsd_sock_any *" lets it through (close, fileno,
 * family, ...). */
typedef bsd_sock bsd_sock_any;

/* Typemap names for strict integer arguments (see args.c). */
typedef int    bsd_int;
typedef STRLEN bsd_size;

extern MGVTBL bsd_sock_vtbl;
int bsd_magic_not_local(pTHX_ SV *nsv, MAGIC *mg);

void bsd_die_not_socket(pTHX_ SV *sv, const char *op) __attribute__noreturn__;
bsd_sock *bsd_sock_of_slow(pTHX_ SV *sv, const char *op);
/* The struct of a socket object, or NULL for anything else (no magic
 * runs, nothing dies). */
bsd_sock *bsd_sock_or_null(pTHX_ SV *sv);
void bsd_die_closed(pTHX_ const char *op) __attribute__noreturn__;

/* The type check on every method call: an object is ours exactly when its
 * referent carries our magic.  The first magic is almost always ours (it
 * is attached first; weaken() and friends prepend theirs), so look there
 * before walking the chain. */
PERL_STATIC_INLINE bsd_sock *
S_bsd_sock_of(pTHX_ SV *sv, const char *op)
{
    if (LIKELY(SvROK(sv) && !SvGMAGICAL(sv))) {
        SV *const obj = SvRV(sv);
        if (LIKELY(SvTYPE(obj) >= SVt_PVMG)) {
            const MAGIC *mg = SvMAGIC(obj);
            if (LIKELY(mg && mg->mg_virtual == &bsd_sock_vtbl))
                return (bsd_sock *)mg->mg_ptr;
            mg = mg_findext(obj, PERL_MAGIC_ext, &bsd_sock_vtbl);
            if (mg)
                return (bsd_sock *)mg->mg_ptr;
        }
    }
    return bsd_sock_of_slow(aTHX_ sv, op);
}

/* The typemap's entry: the socket in args[0], with items - 1 more
 * arguments after it.  Those are converted after this, and if one of them
 * can run Perl code (get-magic, overloading) that code could drop the last
 * reference to the object, and the struct with it: then hold the object
 * until the statement ends.  Plain strings and numbers cost nothing. */
PERL_STATIC_INLINE bsd_sock *
S_bsd_sock_arg(pTHX_ SV **args, I32 items, const char *op, bool live)
{
    bsd_sock *const s = S_bsd_sock_of(aTHX_ args[0], op);
    I32 i;
    if (live && UNLIKELY(s->fd < 0))
        bsd_die_closed(aTHX_ op);
    for (i = 1; i < items; i++)
        if (UNLIKELY(SvFLAGS(args[i]) & (SVs_GMG | SVs_RMG | SVf_ROK))) {
            if (SvROK(args[0]))
                sv_2mortal(SvREFCNT_inc_simple_NN(SvRV(args[0])));
            break;
        }
    return s;
}
#define bsd_sock_arg(args, items, op, live) S_bsd_sock_arg(aTHX_ args, items, op, live)

/* A new, blessed, mortal socket object owning no fd yet (fd -1): the
 * constructors make the object first and the fd second, so a die in
 * between leaks nothing. */
SV *bsd_sock_new(pTHX_ HV *stash, bsd_sock **out);
HV *bsd_sock_stash(pTHX_ SV *klass);
SV     *bsd_sock_create(pTHX_ HV *stash, int family, int type, int proto);
void    bsd_sock_pair(pTHX_ HV *stash, int family, int type, int proto,
                      SV **a, SV **b);
SV     *bsd_sock_fromfd(pTHX_ HV *stash, int fd, SV *family, SV *type,
                        SV *proto);
SV     *bsd_sock_dup(pTHX_ bsd_sock *s, SV *self);
/* A struct of its own (refcnt 1), and letting one go. */
bsd_sock *bsd_sock_struct_new(void);
/* The socket takes fd (counted as perl counts the users of an fd). */
void    bsd_sock_take_fd(bsd_sock *s, int fd);
void    bsd_sock_release(pTHX_ bsd_sock *s);
bsd_sock *bsd_sock_clone_struct(pTHX_ bsd_sock *old, CLONE_PARAMS *param);
/* The socket has its fd: fill in the struct and open the handle. */
void    bsd_sock_open_fd(pTHX_ SV *obj, bsd_sock *s, int fd, int family, int type,
                         int proto, const char *op);
/* A new socket's fields (an accepted connection's, a fresh one's):
 * timeout 0 if SOCK_NONBLOCK asked for a non-blocking one, else the
 * default (whose blocking mode the fd was made with). */
void    bsd_sock_fill(bsd_sock *s, int fd, int family, int type, int proto);
/* Does the default timeout make new sockets non-blocking? */
bool    bsd_default_nonblocking(void);
/* close and detach, the methods (self is the object); close_fd closes
 * the fd only, returning the errno close(2) failed with, or 0. */
void    bsd_sock_close(pTHX_ SV *self, bsd_sock *s);
int     bsd_sock_detach(pTHX_ SV *self, bsd_sock *s);
int     bsd_sock_close_fd(pTHX_ bsd_sock *s);
/* How many times a socket of this interpreter gave up its fd (close,
 * detach): the poller checks its registrations when this changes. */
U32     bsd_sock_closes(pTHX);
void    bsd_sock_boot(pTHX);
void    bsd_sock_clone(pTHX);

void    bsd_sock_settimeout(pTHX_ bsd_sock *s, double timeout, const char *op);
/* For the calls that have no MSG_DONTWAIT (accept, connect, sendfile): a
 * socket with a timeout makes its fd non-blocking for the call (within
 * ENTER/LEAVE, which puts a blocking fd back). */
void    bsd_sock_nonblocking_call(pTHX_ bsd_sock *s, bool keep, const char *op);
int     bsd_set_fd_nonblocking(int fd, bool nonblocking);
int     bsd_set_fd_cloexec(int fd, bool cloexec);
bool    bsd_sock_get_inheritable(pTHX_ bsd_sock *s);
void    bsd_sock_set_inheritable(pTHX_ bsd_sock *s, bool inheritable);
double  bsd_get_default_timeout(void);
void    bsd_set_default_timeout(double timeout);
int     bsd_dup_cloexec(pTHX_ int fd, const char *op);

/* ---------------------------------------------------- errors (error.c) */

/* An error, built by name and thrown by bsd_throw:
 *
 *     bsd_error e = BSD_ERROR("connect", ECONNREFUSED);
 *     e.address = address_sv;
 *     bsd_throw(aTHX_ &e);
 *
 * Fields left alone keep the defaults BSD_ERROR gives them, so a new
 * field touches no caller.  message and attempts are new SVs that the
 * error takes over; address is copied (its magic has run already). */
typedef struct bsd_error {
    const char *klass;      /* the class: BSD_ERROR_CLASS or a subclass */
    const char *op;         /* what failed: 'connect', 'address', ... */
    int         errnum;     /* errno, or the EAI/h_errno code of GAI/Host */
    bool        has_errno;  /* FALSE: errno is undef */
    SV         *message;    /* NULL: the errno's own words, as $! says them */
    SV         *address;    /* the address involved (Perl form), or NULL */
    IV          sent;       /* bytes sent before the failure, < 0: none */
    SV         *attempts;   /* create_connection: every address and why */
    SV         *where;      /* the address as the text says it (a new SV the
                               error takes over: bsd_address_text), or NULL */
    IV          received;   /* EOF: bytes that arrived before it, < 0: none */
} bsd_error;

#define BSD_ERROR(op_, errnum_) \
    ((bsd_error){ .klass = BSD_ERROR_CLASS, .op = (op_), .errnum = (errnum_), \
                  .has_errno = TRUE, .sent = -1, .received = -1 })

void bsd_throw(pTHX_ const bsd_error *e) __attribute__noreturn__;
/* The address an error is about: its Perl value, and its words for the
 * text (bsd_address_text). */
struct bsd_addr;
void bsd_error_at(pTHX_ bsd_error *e, const struct bsd_addr *addr, int family);

/* strerror's words for an errno, as $! would say them (a new SV). */
SV *bsd_errno_message(pTHX_ int errnum);

/* Shorthands for the common kinds. */
/* A failed system call: message from strerror(errnum). */
void bsd_die_errno(pTHX_ const char *op, int errnum, SV *address)
    __attribute__noreturn__;
/* A bad argument: EINVAL with the module's own words. */
void bsd_die_arg(pTHX_ const char *op, const char *fmt, ...)
    __attribute__noreturn__ __attribute__format__(__printf__, pTHX_2, pTHX_3);
/* A bad address value: op 'address', the value kept in the error. */
void bsd_die_address(pTHX_ SV *address, const char *fmt, ...)
    __attribute__noreturn__ __attribute__format__(__printf__, pTHX_2, pTHX_3);
/* A resolver failure (EAI_SYSTEM becomes the system error it stands for). */
void bsd_die_gai(pTHX_ const char *op, int code, int sys_errno, SV *address,
                 SV *context) __attribute__noreturn__;
/* A gethostbyname-family failure: BSDSocket::Error::Host with h_errno. */
void bsd_die_host(pTHX_ const char *op, int h_err, const char *name)
    __attribute__noreturn__;

/* A short description of a Perl value for messages: 'text', 7, undef,
 * an ARRAY reference, ... */
SV *bsd_describe(pTHX_ SV *sv);

/* --------------------------------------------------- arguments (args.c) */

/* Strict integers: an IV, an integral NV, a decimal string ('-'? digits,
 * nothing else), or an object with numeric overloading.  bsd_parse_iv()
 * reads a value whose get-magic has run and says what is wrong with it;
 * bsd_parse_uv() the same for an unsigned range. */
enum { BSD_INT_OK, BSD_INT_NOT_INTEGER, BSD_INT_RANGE };
int bsd_parse_iv(pTHX_ SV *sv, IV min, IV max, IV *out);
int bsd_parse_uv(pTHX_ SV *sv, UV max, UV *out);
U32 bsd_sv_to_u32(pTHX_ SV *sv, const char *what, const char *op);

/* An integer argument: get-magic once, then dies naming `what` unless the
 * value is an integer in min..max. */
IV bsd_sv_to_iv(pTHX_ SV *sv, IV min, IV max, const char *what, const char *op);
IV bsd_iv_nomg(pTHX_ SV *sv, IV min, IV max, const char *what, const char *op);

/* The IV fast path inline: a plain integer needs no function call. */
PERL_STATIC_INLINE IV
S_bsd_iv_arg(pTHX_ SV *sv, IV min, IV max, const char *what, const char *op)
{
    if (LIKELY((SvFLAGS(sv) & (SVf_IOK|SVf_IVisUV|SVs_GMG|SVf_ROK|SVf_POK)) == SVf_IOK)) {
        const IV iv = SvIVX(sv);
        if (LIKELY(iv >= min && iv <= max))
            return iv;
    }
    return bsd_sv_to_iv(aTHX_ sv, min, max, what, op);
}
#define int_arg(sv, what, op)  ((int)S_bsd_iv_arg(aTHX_ sv, INT_MIN, INT_MAX, what, op))
#define size_arg(sv, what, op) ((STRLEN)S_bsd_iv_arg(aTHX_ sv, 0, IV_MAX, what, op))

/* A byte string argument: get-magic once; undef, plain references and
 * globs die ("<what> must be a string"), so do characters above 255
 * ("Wide character in <op>", as syswrite says). */
const char *bsd_sv_to_bytes(pTHX_ SV *sv, STRLEN *len, const char *what,
                            const char *op);
/* bsd_sv_to_bytes for a value whose get-magic has run already. */
const char *bsd_sv_to_bytes_nomg(pTHX_ SV *sv, STRLEN *len, const char *what,
                                 const char *op);
/* The same without the checks: NULL for wide characters.
 * bsd_is_stringish() says whether a value may be read as a string at all. */
const char *bsd_bytes_nomg(pTHX_ SV *sv, STRLEN *len);
bool bsd_is_stringish(pTHX_ SV *sv);
/* A name for C (a host, a service, a path): bytes with no NUL inside, as
 * a C string that lives until the statement ends.  A bad one dies with
 * op `op` naming `what`, keeping `address` in the error when there is
 * one (then op is 'address'). */
const char *bsd_cstring_nomg(pTHX_ SV *sv, const char *what, const char *op,
                             SV *address);
SV *bsd_plain_copy(pTHX_ SV *sv);
bool bsd_sv_to_bool(pTHX_ SV *sv);
bool bsd_overload_converts(pTHX_ SV *sv);

/* What comes from outside the program is tainted under -T (received
 * data, addresses, names from the resolver), as perl's own are. */
PERL_STATIC_INLINE SV *
S_bsd_tainted(pTHX_ SV *sv)
{
    if (UNLIKELY(TAINTING_get))
        SvTAINTED_on(sv);
    return sv;
}
#define bsd_tainted(sv) S_bsd_tainted(aTHX_ sv)

/* Make sv a string with room for `want` bytes (plus the NUL), or die with
 * ENOMEM when that much memory cannot be had, instead of perl's fatal
 * "Out of memory!".  Returns the buffer. */
char *bsd_grow_or_die(pTHX_ SV *sv, STRLEN want, const char *op);
/* Zeroed scratch memory for count items of size bytes, freed with the
 * statement, or ENOMEM. */
void *bsd_scratch(pTHX_ size_t count, size_t size, const char *op);

/* The *_into calls' one validator, and what they do when done. */
char *bsd_into_prepare(pTHX_ SV *buf, SV *nbytes_sv, STRLEN *nbytes, const char *op);
void  bsd_into_finish(pTHX_ SV *buf, STRLEN n);

/* A timeout argument: undef (-1, blocking) or seconds >= 0; the _wait
 * one, where 0 cannot be (a call that must wait for something), > 0. */
double  bsd_sv_to_timeout(pTHX_ SV *sv, const char *op);
double  bsd_sv_to_wait_timeout(pTHX_ SV *sv, const char *op);


/* recv's and recvfrom's arguments, for the XSUBs and the method-call
 * shortcut alike: args[0] the socket, then $bufsize and $flags = 0
 * (items counts them all, and is 2 or 3).  Inline: it is on every
 * receive's path. */
typedef struct { bsd_sock *sock; STRLEN bufsize; int flags; } bsd_recv_args;

PERL_STATIC_INLINE void
S_bsd_recv_args(pTHX_ SV **args, I32 items, const char *op, bsd_recv_args *out)
{
    out->sock = S_bsd_sock_arg(aTHX_ args, items, op, TRUE);
    out->bufsize = size_arg(args[1], "bufsize", op);
    out->flags = items > 2 ? int_arg(args[2], "flags", op) : 0;
}
#define bsd_recv_args_from(args, items, op, out) S_bsd_recv_args(aTHX_ args, items, op, out)

/* -------------------------------------------------- addresses (addr.c) */

typedef struct bsd_addr {
    socklen_t len;
    union {
        struct sockaddr         sa;
        struct sockaddr_in      in4;
        struct sockaddr_in6     in6;
        struct sockaddr_un      un;
        struct sockaddr_storage ss;
    } u;
} bsd_addr;

/* The BSDs' and macOS's sockaddrs begin with their own length (sa_len),
 * which their getnameinfo checks: every address built here sets it. */
PERL_STATIC_INLINE void
bsd_addr_set_sa_len(bsd_addr *a)
{
#ifdef BSD_HAVE_SA_LEN
    a->u.sa.sa_len = (unsigned char)(a->len < 255 ? a->len : 255);
#else
    PERL_UNUSED_ARG(a);
#endif
}

/* Perl value -> sockaddr for a socket of `family`.  `args` points at the
 * address argument and nargs counts it and what follows it on the stack:
 * one value is an address; two are (host, port), the older form. */
void bsd_sockaddr_from_args(pTHX_ bsd_sock *s, SV **args, I32 nargs,
                            bsd_addr *out);
#define sockaddr_from_sv(s, sv, out) \
    bsd_sockaddr_from_args(aTHX_ s, &(sv), 1, out)
/* The same for one address whose get-magic has run already.  family
 * AF_UNSPEC takes an AF_INET or AF_INET6 address, whichever it is;
 * flags BSD_ADDR_NUMERIC refuses a host that would need the resolver. */
#define BSD_ADDR_NUMERIC 1
void bsd_sockaddr_from_sv_nomg(pTHX_ bsd_sock *s, int family, SV *address, bsd_addr *out,
                               int flags);
/* An address as getaddrinfo gave it. */
struct addrinfo;
void bsd_addr_from_ai(const struct addrinfo *ai, bsd_addr *out);

/* sockaddr -> a new Perl value, for a socket of `family`: a zero length
 * is undef (no address), or '' for AF_UNIX (an unbound sender; Linux
 * gives no name at all for one).  Arrays come out read-only and remember
 * their sockaddr. */
SV *bsd_sockaddr_to_sv(pTHX_ const bsd_addr *addr, int family);
#define sockaddr_to_sv(addr, family) bsd_sockaddr_to_sv(aTHX_ addr, family)
SV *bsd_sockaddr_to_sv_cached(pTHX_ const bsd_addr *addr, int family, SV **cache);
SV *bsd_address_text(pTHX_ const bsd_addr *addr);

/* Dotted quads, strictly as inet_pton reads them, and back. */
bool    bsd_parse_in4(const char *pv, STRLEN len, struct in_addr *out);
STRLEN  bsd_format_in4(const struct in_addr *in, char *text);

/* ------------------------------------------------- the driver (call.c) */

/* One socket call through the driver: the system call to make and what to
 * do around it.  bsd_call_init() fills in the defaults; a method sets what
 * its call needs, and bsd_call_run() does the rest:
 *
 *   - attempt() makes the system call once, returning >= 0 or -1 with
 *     errno set.  EINTR runs Perl's signal handlers and tries again;
 *     EAGAIN waits (per the timeout, within one deadline) and tries again;
 *     anything else is the call's error.
 *   - progress(), for calls that move data in pieces (sendall, sendfile,
 *     send_many): counts what an attempt did, TRUE when the call is done.
 *     Signal handlers run between the pieces.
 *   - guard() runs once before the first Perl code in the middle of the
 *     call, recheck() after every run of it (see the fields).
 *
 * An attempt that says EINPROGRESS (outside connect) waits for what it
 * named in wait/nwait (several fds), until `wake` at the latest, and is
 * then tried again: create_connection's race. */
typedef struct bsd_call bsd_call;

enum {
    BSD_CALL_CONNECT  = 1,  /* connect(2): EINPROGRESS, and an EINTR that leaves
                               the kernel connecting, wait for the outcome */
    BSD_CALL_ERRNO    = 2,  /* a failure returns -1 with the errno in err
                               (ETIMEDOUT for a timeout) instead of dying */
    BSD_CALL_SHORT_OK = 4,  /* once a piece went, a failure ends the call with
                               what went (send_many's short count) */
    BSD_CALL_FD_MODE  = 8   /* a call made through the handle: an O_NONBLOCK
                               that code managing the handle set on the fd
                               (fcntl, as AnyEvent does) makes it not wait,
                               as it does perl's own handles */
};

struct bsd_call {
    bsd_sock   *sock;       /* the socket, or NULL (create_connection) */
    SV         *self;       /* its object: held while Perl code runs */
    const char *op;         /* names the call in errors */
    const bsd_addr *peer;   /* the address the call is aimed at, named in
                               errors (connect, sendto), or NULL */
    double      timeout;    /* the socket's: < 0 blocking, 0 non-blocking */
    double      deadline;   /* when the timeout runs out (bsd_now() seconds);
                               0: not set yet, or none */
    unsigned    mode;       /* BSD_CALL_* */
    ssize_t   (*attempt)(pTHX_ bsd_call *c);
    bool      (*progress)(pTHX_ bsd_call *c, ssize_t done);
    /* Called once, before the first Perl code (a signal handler) runs in
     * the middle of the call: copy whatever that code could free. */
    void      (*guard)(pTHX_ bsd_call *c);
    /* Called after Perl code ran in the middle of the call: look again at
     * what that code could have changed (the fds a call passes on), and
     * set stop to end the call with that errno if it cannot go on. */
    void      (*recheck)(pTHX_ bsd_call *c);
    /* The call's own error when it fails (timed_out: the deadline passed),
     * instead of the usual one. */
    void      (*fail)(pTHX_ bsd_call *c, int err, bool timed_out);
    void       *ctx;        /* the call's own data, for the functions above */
    /* What a wait waits for: one pollfd, the socket's by default (an
     * attempt may point it at another fd it waits on), or several. */
    struct pollfd one;
    struct pollfd *wait;
    nfds_t      nwait;
    double      wake;       /* with EINPROGRESS: try again by then (0: no) */
    IV          sent;       /* sendall, sendfile: bytes sent, for the error; -1 */
    int         err;        /* BSD_CALL_ERRNO: why it failed */
    int         stop;       /* Perl code ran and the call cannot go on: this errno */
    bool        timed_out;  /* BSD_CALL_ERRNO: the failure is the time running out */
    bool        guarded;    /* guard() has run */
    bool        progressed; /* a piece went */
    SV         *bounce;     /* recv_into: where the data went once Perl code ran */
    SV         *target;     /* recv_into: the caller's buffer (held once Perl code runs) */
    /* the system call's arguments */
    char       *buf;
    size_t      len;
    int         flags;
    bsd_addr   *addr;
    union {                 /* and those of the calls with more */
        struct msghdr *msg;                                  /* sendmsg, recvmsg */
        struct { bsd_mmsghdr *vec; unsigned count; } mmsg;    /* recv_many */
        struct { int in_fd; off_t offset; } file;            /* sendfile */
    } x;
};

/* A call on socket s (or NULL) waiting for `events` on it. */
void    bsd_call_init(bsd_call *c, bsd_sock *s, SV *self, const char *op,
                      short events, ssize_t (*attempt)(pTHX_ bsd_call *c));
/* Make the call.  Returns what the last attempt returned (progress
 * calls keep their own count), or -1 in BSD_CALL_ERRNO mode. */
ssize_t bsd_call_run(pTHX_ bsd_call *c);
/* The same after a first attempt the method made itself, which did not
 * finish the call: r, a piece that went (progress takes it), or -1 and
 * err (send, recv and sendall make it inline: the common case, done at
 * once, costs no setup). */
ssize_t bsd_call_after(pTHX_ bsd_call *c, ssize_t r, int err);
/* The call's usual errors, for its own functions (recheck): err (with
 * `sent`, when the call counts it), or BSDSocket::Error::Timeout. */
void    bsd_call_die(pTHX_ const bsd_call *c, int err) __attribute__noreturn__;

/* The one waiting loop: wait_once(ctx, ms) until it reports something or
 * the deadline (bsd_now() seconds, 0 = none) passes; signals run Perl's
 * handlers (through the call c when there is one).  Returns what
 * wait_once returned, 0 when the time ran out.  bsd_poll_wait is it with
 * poll(2) on pfds. */
typedef int (*bsd_wait_once)(void *ctx, int ms);
int     bsd_wait(pTHX_ bsd_wait_once wait_once, void *ctx, double deadline,
                 bsd_call *c, const char *op);
int     bsd_poll_wait(pTHX_ struct pollfd *pfds, nfds_t n, double deadline,
                      bsd_call *c, const char *op);
double  bsd_now(void);
/* The deadline of a timeout that starts now (0 for none: timeout < 0). */
double  bsd_deadline(double timeout);
/* The plain send's attempt and progress (methods.c), which the handle's
 * print and syswrite use too. */
ssize_t bsd_attempt_send(pTHX_ bsd_call *c);
bool    bsd_sent_piece(pTHX_ bsd_call *c, ssize_t n);
/* The plain receive's attempt (methods.c): recv, or recvfrom into c->addr,
 * through gro.c where that is in play; the handle's reads use it too. */
ssize_t bsd_attempt_recv(pTHX_ bsd_call *c);

/* ------------------------------------------------ UDP receive offload (gro.c) */

enum {
    BSD_GRO_OFF   = -1,     /* off (or not UDP, or a kernel without it) */
    BSD_GRO_ASK   =  0,     /* not asked yet (a new struct, a changed option) */
    BSD_GRO_ON    =  1      /* on: every receive goes through gro.c */
};
typedef struct { unsigned at; size_t pos; } bsd_gro_cursor;
typedef struct {
    const char     *data;
    size_t          len;
    const bsd_addr *from;
    int             msg_flags;  /* the buffer's, as recvmsg gave them */
    unsigned        entry;
} bsd_datagram;
bool    bsd_gro_active(bsd_sock *s);
void    bsd_gro_forget(bsd_sock *s);
ssize_t bsd_gro_attempt_fill(pTHX_ bsd_call *c);
void    bsd_gro_start(bsd_sock *s, bsd_gro_cursor *cur);
bool    bsd_gro_next(bsd_sock *s, bsd_gro_cursor *cur, bsd_datagram *d);
void    bsd_gro_commit(bsd_sock *s, const bsd_gro_cursor *cur, size_t bytes);
size_t  bsd_gro_held(const bsd_sock *s);
bool    bsd_gro_holds(const bsd_sock *s);
int     bsd_gro_holders(void);
UV      bsd_gro_runs(const bsd_sock *s);
ssize_t bsd_gro_recvmsg(bsd_sock *s, struct msghdr *msg, int flags);
ssize_t bsd_gro_recv(bsd_sock *s, char *buf, size_t len, int flags, bsd_addr *from);

/* Whether a receive on s goes through gro.c (GRO on or maybe on, or
 * datagrams waiting there): one test of the struct when it cannot be. */
PERL_STATIC_INLINE bool
bsd_gro_in_play(bsd_sock *s)
{
    return UNLIKELY(s->gro >= 0 || s->gro_area) && bsd_gro_active(s);
}
/* Whether fd is ready for events right now (a look, no wait), and what
 * poll said (revents; 0 for not ready). */
bool    bsd_fd_ready(int fd, short events);
short   bsd_fd_ready_now(int fd, short events);
/* Where a connect that was waited for ended: 0 connected, ENOTCONN if it
 * never started (an EINTR from before the kernel began, or one injected
 * by strace), else why it failed. */
int     bsd_connect_outcome(int fd);

/* Linux moves at most this much in one call (MAX_RW_COUNT: INT_MAX
 * rounded down to a page) whatever length it is given; pass no more. */
#define BSD_MAX_IO ((size_t)0x7ffff000)
#define BSD_IO_LEN(n) ((size_t)(n) < BSD_MAX_IO ? (size_t)(n) : BSD_MAX_IO)

/* A receive's length as the caller sees it: MSG_TRUNC makes the kernel
 * report a datagram's real length, which may be more than there was
 * room for. */
PERL_STATIC_INLINE ssize_t
bsd_received(ssize_t n, size_t room)
{
    return (size_t)n > room ? (ssize_t)room : n;
}

/* --------------------------------------------------- methods (methods.c) */

/* Small results go into the call site's target scalar (no allocation per
 * call; the caller's assignment copies the few bytes); bigger ones into a
 * scalar of their own, which that assignment takes over without a copy.
 * Under taint mode the target is not used (it would stay tainted). */
#define BSD_RECV_TARG_MAX 1024
#define BSD_RECV_TARG(targ, bufsize) \
    ((bufsize) <= BSD_RECV_TARG_MAX && !TAINTING_get ? (targ) : NULL)

/* The helpers behind the methods; `self` is the object's reference (ST(0)),
 * results are mortal. */
/* recv/recvfrom: into `into` (returned), or a new mortal if it is NULL. */
SV     *bsd_sock_recv(pTHX_ bsd_sock *s, SV *self, SV *into, STRLEN bufsize,
                      int flags, bsd_addr *from);
ssize_t bsd_sock_send(pTHX_ bsd_sock *s, SV *self, SV *data, int flags,
                      bsd_addr *to, const char *op);
SV     *bsd_sock_accept(pTHX_ bsd_sock *s, SV *self, bsd_addr *peer);
STRLEN  bsd_sock_recv_into(pTHX_ bsd_sock *s, SV *self, SV *buf, SV *nbytes,
                           int flags, bsd_addr *from);
/* recv_exact and recv_until (framing.c) */
SV     *bsd_sock_recv_exact(pTHX_ bsd_sock *s, SV *self, STRLEN n, int flags);
SV     *bsd_sock_recv_until(pTHX_ bsd_sock *s, SV *self, SV *delimiter, STRLEN most);
void    bsd_sock_bind(pTHX_ bsd_sock *s, const bsd_addr *addr);
/* connect: dies, or (connect_ex) returns the errno, 0 when connected. */
int     bsd_sock_connect(pTHX_ bsd_sock *s, SV *self, bsd_addr *addr,
                         bool return_errno);
STRLEN  bsd_sock_sendall(pTHX_ bsd_sock *s, SV *self, SV *data, int flags);
SV     *bsd_sock_getsockopt(pTHX_ bsd_sock *s, int level, int name,
                            SV *buflen);
void    bsd_sock_setsockopt(pTHX_ bsd_sock *s, int level, int name, SV *value);
/* A constant's value by name (BSDSocket.xs, from its table). */
bool    bsd_constant_value(const char *name, IV *value, bool *known);
/* sockopt($name): the value (mortal); sockopt($name, $value): NULL
 * (sockopt.c, typed options by name). */
SV     *bsd_sock_sockopt(pTHX_ bsd_sock *s, SV *name, SV *value);
SV     *bsd_sock_makefile(pTHX_ bsd_sock *s, SV *mode, SV *bufsize);
SV     *bsd_handle_from_fd(pTHX_ int fd, bool want_read, bool want_write,
                           bool unbuffered, const char *op);
SV     *bsd_try_handle_from_fd(pTHX_ int fd, bool want_read, bool want_write,
                               bool unbuffered);

/* ------------------------------------------------- messages (msg.c) */

ssize_t bsd_sock_sendmsg(pTHX_ bsd_sock *s, SV *self, SV *buffers, SV *ancillary,
                         int flags, SV *address);
ssize_t bsd_sock_send_fds(pTHX_ bsd_sock *s, SV *self, SV *buffers, SV *fds,
                          int flags, SV *address);
void    bsd_sock_recvmsg(pTHX_ bsd_sock *s, SV *self, STRLEN bufsize,
                         STRLEN ancbufsize, int flags, SV **out);
void    bsd_sock_recv_fds(pTHX_ bsd_sock *s, SV *self, STRLEN bufsize, IV maxfds,
                          int flags, SV **out);
STRLEN  bsd_sock_sendfile(pTHX_ bsd_sock *s, SV *self, SV *fh, SV *offset,
                          SV *count);
IV      bsd_sock_send_many(pTHX_ bsd_sock *s, SV *self, SV *messages, SV *address);
AV     *bsd_sock_recv_many(pTHX_ bsd_sock *s, SV *self, IV count, STRLEN bufsize,
                           int flags);

/* ------------------------------------------------- resolver (resolve.c) */

const char *bsd_service_arg(pTHX_ SV *sv, const char *op);
AV     *bsd_getaddrinfo(pTHX_ SV *host, SV *port, int family, int type,
                        int proto, int flags, double timeout);
void    bsd_getnameinfo(pTHX_ SV *address, int flags, SV **host, SV **service);
SV     *bsd_gethostbyname(pTHX_ SV *name);
void    bsd_gethostbyname_ex(pTHX_ SV *name, SV **out);
void    bsd_gethostbyaddr(pTHX_ SV *ip, SV **out);
SV     *bsd_gethostname(pTHX);
int     bsd_getservbyname(pTHX_ SV *service, SV *proto);
SV     *bsd_getservbyport(pTHX_ SV *port, SV *proto);
int     bsd_getprotobyname(pTHX_ SV *name);
SV     *bsd_inet_aton(pTHX_ SV *text);
SV     *bsd_inet_ntoa(pTHX_ SV *packed);
SV     *bsd_inet_pton(pTHX_ int family, SV *text);
SV     *bsd_inet_ntop(pTHX_ int family, SV *packed);
bool    bsd_has_ipv6(void);

/* -------------------------------------------- create_connection (connect.c) */

/* timeout < 0: blocking (no deadline). */
SV     *bsd_create_connection(pTHX_ SV *address, double timeout, SV *source);

/* --------------------------------------------- the shortcut (fast.c) */

/* Set up at BOOT, again per thread. */
void    bsd_fast_boot(pTHX);
void    bsd_fast_clone(pTHX);
UV      bsd_fast_taken(pTHX);

/* ------------------------------------------------ the handle (handle.c) */

/* Open the IO slot of glob gv on socket s (the socket's rules for every
 * builtin and handle method), close it, flush its write side. */
void    bsd_handle_open(pTHX_ GV *gv, bsd_sock *s, bool want_read, bool want_write,
                        bool unbuffered, const char *op);
void    bsd_handle_close(pTHX_ GV *gv);
void    bsd_handle_flush(pTHX_ GV *gv);
void    bsd_handle_boot(pTHX);
/* What the handle read ahead: taken first by every receive call (at most
 * room bytes, none taken with MSG_PEEK); how many there are. */
size_t  bsd_take_buffered(bsd_sock *s, char *dest, size_t room, int flags);
size_t  bsd_sock_pending(bsd_sock *s);
/* Put bytes back at the front of what the handle read ahead, for the
 * next read of any kind (recv_exact and recv_until, failing). */
void    bsd_unread(pTHX_ bsd_sock *s, const char *bytes, size_t len);
/* Whether a read of the handle is under way (a signal handler runs in its
 * middle): then nothing may be put back. */
bool    bsd_read_side_busy(const bsd_sock *s);
/* sysread and syswrite (the methods, and the builtins on our handles):
 * perl's semantics, -1 with errno on failure. */
SSize_t bsd_handle_sysread(pTHX_ bsd_sock *s, SV *bufsv, IV length, IV offset);
SSize_t bsd_handle_syswrite(pTHX_ bsd_sock *s, const char *buf, size_t len);
const char *bsd_syswrite_slice(pTHX_ SV *bufsv, SV *length_sv, SV *offset_sv, STRLEN *len);

/* The layer: perl's buffer-layer fields first (perl's PerlIOBuf_*
 * functions and readline work on them in place), then the socket. */
struct bsd_layer {
    PerlIOBuf  buf;
    bsd_sock  *sock;        /* held (refcnt) for as long as the layer lives */
};

PERL_STATIC_INLINE bool
bsd_has_buffered(const bsd_sock *s)
{
    return s->rbuf && s->rbuf->buf.ptr < s->rbuf->buf.end;
}

/* ------------------------------------------------------ items (items.c) */

/* The fd behind an item (what select, the poller, sendfile, send_fds and
 * fromfd take): a socket object, a Perl handle (a glob, a reference to
 * one, an IO object) or a plain fd number.  bsd_fd_of runs get-magic and
 * dies for a closed one; the _nomg ones say which kind it was, and the
 * quiet one gives -1 for a closed socket or handle. */
int     bsd_fd_of(pTHX_ SV *sv, const char *op);
enum { BSD_ITEM_SOCK, BSD_ITEM_HANDLE, BSD_ITEM_FD };
typedef struct { int kind; bsd_sock *sock; } bsd_item_info;
int     bsd_item_fd_nomg(pTHX_ SV *sv, bsd_item_info *info, const char *op);
int     bsd_item_fd_quiet_nomg(pTHX_ SV *sv, bsd_item_info *info, const char *op);
/* The fd a handle item has now (-1 when closed), running no Perl code. */
int     bsd_item_current_fd(pTHX_ SV *handle);
/* An item a call keeps using while Perl code may run. */
typedef struct { SV *item; int fd; dev_t dev; ino_t ino; } bsd_held_fd;
void    bsd_held_fd_take(pTHX_ SV *sv, bsd_held_fd *h);
int     bsd_held_fd_open(pTHX_ bsd_held_fd *h, const char *op);
int     bsd_held_fd_again(pTHX_ bsd_held_fd *h, const char *op);

/* ------------------------------------------------- readiness (ready.c) */

void    bsd_select(pTHX_ SV *lists[3], SV *timeout, SV **out);
typedef struct bsd_poller bsd_poller;
extern MGVTBL bsd_poller_vtbl;
SV         *bsd_poller_new(pTHX_ HV *stash, const char *backend);
bsd_poller *bsd_poller_of(pTHX_ SV *sv, const char *op);
const char *bsd_poller_backend(bsd_poller *p);
int         bsd_poller_fileno(bsd_poller *p);
int         bsd_poller_count(pTHX_ bsd_poller *p);
void        bsd_poller_close(pTHX_ bsd_poller *p);
void        bsd_poller_register(pTHX_ bsd_poller *p, SV *item, SV *events, SV *data);
void        bsd_poller_modify(pTHX_ bsd_poller *p, SV *item, SV *events, SV *data);
void        bsd_poller_unregister(pTHX_ bsd_poller *p, SV *item);
AV         *bsd_poller_poll(pTHX_ bsd_poller *p, SV *self, SV *timeout, AV *into, bool items);

#endif /* BSDSOCKET_H */
