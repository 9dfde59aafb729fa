/*
 * bsdsocket.h - what the XSUBs in BSDSocket.xs share with the C helpers.
 *
 * The shape (see STYLE.md):
 *   bsd_sock.c   the socket object, the call driver, one helper per method
 *   bsd_addr.c   the address converter pair: Perl value <-> sockaddr
 *   bsd_args.c   argument conversion: integers, sizes, byte strings
 *   bsd_error.c  the one error thrower
 *   bsd_msg.c    sendmsg/recvmsg, fd passing, sendfile, batches
 *   bsd_ready.c  select and the poller
 *   bsd_resolve.c, bsd_connect.c, bsd_fast.c: the resolver,
 *                create_connection, the method-call shortcut
 *
 * Every helper takes pTHX_ and has a short macro without it, as perl's own
 * sources do.  Names are prefixed bsd_ because the .o files are linked
 * into one shared object together with whatever else perl loads.
 */
#ifndef BSDSOCKET_H
#define BSDSOCKET_H

#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <sys/un.h>
#include <poll.h>

/* ---------------------------------------------------------------- object */

/* The C side of a BSDSocket::Socket.  It lives in the mg_ptr of an ext
 * magic on the blessed scalar (the magic's mg_len is sizeof(bsd_sock), so
 * perl owns and frees the memory with the scalar, and copies it when a
 * thread is cloned).  The vtable pointer of that magic is what proves an
 * object is ours: Perl code cannot forge it. */
typedef struct bsd_sock {
    int    fd;        /* -1 once closed or detached */
    int    family;
    int    type;      /* SOCK_* with SOCK_NONBLOCK/SOCK_CLOEXEC masked off */
    int    proto;
    double timeout;   /* < 0: blocking; 0: non-blocking; > 0: seconds per call */
    SV    *last_peer; /* the address array recvfrom returned last (see
                         bsd_sockaddr_to_sv_cached), or NULL */
    signed char gso;  /* send_many may use UDP GSO: 1 yes, -1 no, 0 not
                         yet asked (bsd_msg.c) */
} bsd_sock;

/* The flag every send and receive adds on a socket with a timeout (0 or
 * more): the call never blocks in the kernel, whatever O_NONBLOCK says.
 * That flag belongs to the open file description, which a dup, a fromfd
 * copy or a makefile handle shares and may have changed; the socket's
 * own timeout is what counts, and the driver does the waiting. */
#define BSD_NOWAIT(s) ((s)->timeout >= 0 ? MSG_DONTWAIT : 0)

/* The typemap has two names for the same struct: "bsd_sock *" refuses a
 * closed socket (EBADF), "bsd_sock_any *" lets it through (close, fileno,
 * family, ...). */
typedef bsd_sock bsd_sock_any;

/* Typemap names for strict integer arguments (see bsd_args.c). */
typedef int    bsd_int;
typedef STRLEN bsd_size;

#define BSD_SOCKET_CLASS "BSDSocket::Socket"
#define BSD_ERROR_CLASS  "BSDSocket::Error"

extern MGVTBL bsd_sock_vtbl;
int bsd_magic_not_local(pTHX_ SV *nsv, MAGIC *mg);

void bsd_die_not_socket(pTHX_ SV *sv, const char *op) __attribute__noreturn__;
bsd_sock *bsd_sock_of_slow(pTHX_ SV *sv, const char *op);
/* The struct of a socket object, or NULL for anything else (no magic
 * runs, nothing dies). */
bsd_sock *bsd_sock_or_null(pTHX_ SV *sv);
/* How many times a socket of this interpreter gave up its fd (close,
 * detach): the poller checks its registrations when this changes. */
U32 bsd_sock_closes(pTHX);
void bsd_sock_boot(pTHX);
void bsd_sock_clone(pTHX);
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
#define bsd_sock_of(sv, op) S_bsd_sock_of(aTHX_ sv, op)

PERL_STATIC_INLINE bsd_sock *
S_bsd_sock_live(pTHX_ SV *sv, const char *op)
{
    bsd_sock *const s = S_bsd_sock_of(aTHX_ sv, op);
    if (UNLIKELY(s->fd < 0))
        bsd_die_closed(aTHX_ op);
    return s;
}
#define bsd_sock_live(sv, op) S_bsd_sock_live(aTHX_ sv, op)

/* The typemap's entry: the socket in args[0], with items - 1 more
 * arguments after it.  Those are converted after this, and if one of them
 * can run Perl code (get-magic, overloading) that code could drop the last
 * reference to the object, and the struct with it: then hold the object
 * until the statement ends.  Plain strings and numbers cost nothing. */
PERL_STATIC_INLINE bsd_sock *
S_bsd_sock_arg(pTHX_ SV **args, I32 items, const char *op, bool live)
{
    bsd_sock *const s = live ? S_bsd_sock_live(aTHX_ args[0], op)
                             : S_bsd_sock_of(aTHX_ args[0], op);
    I32 i;
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

/* ---------------------------------------------------------------- errors */

/* The one thrower: builds a BSDSocket::Error (or subclass) object, sets $!
 * for system errors, and dies with it.  has_errno false means errno undef. */
void bsd_throw(pTHX_ const char *klass, const char *op, int has_errno,
               int errnum, SV *message, SV *address, SV *sent, SV *attempts)
    __attribute__noreturn__;

/* strerror's words for an errno, as $! would say them (a new SV). */
SV *bsd_errno_message(pTHX_ int errnum);

/* A failed system call: message from strerror(errnum). */
void bsd_die_errno(pTHX_ const char *op, int errnum, SV *address)
    __attribute__noreturn__;
#define die_errno(op, e, addr) bsd_die_errno(aTHX_ op, e, addr)

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

/* ------------------------------------------------------------- arguments */

/* Strict integers: an IV, an integral NV, a decimal string ('-'? digits,
 * nothing else), or an object with numeric overloading.  bsd_parse_iv()
 * reads a value whose get-magic has run and says what is wrong with it. */
enum { BSD_INT_OK, BSD_INT_NOT_INTEGER, BSD_INT_RANGE };
int bsd_parse_iv(pTHX_ SV *sv, IV min, IV max, IV *out);
int bsd_parse_uv(pTHX_ SV *sv, UV max, UV *out);
U32 bsd_sv_to_u32(pTHX_ SV *sv, const char *what, const char *op);
SV *bsd_int_range_text(pTHX_ IV min, IV max);

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

/* The same without the get-magic and the checks: NULL for wide characters.
 * bsd_is_stringish() says whether a value may be read as a string at all. */
const char *bsd_bytes_nomg(pTHX_ SV *sv, STRLEN *len);
SV *bsd_plain_copy(pTHX_ SV *sv);
bool bsd_sv_to_bool(pTHX_ SV *sv);
bool bsd_overload_converts(pTHX_ SV *sv);
bool bsd_is_stringish(pTHX_ SV *sv);

/* Make sv a string with room for `want` bytes (plus the NUL), or die with
 * ENOMEM when that much memory cannot be had, instead of perl's fatal
 * "Out of memory!".  Returns the buffer. */
char *bsd_grow_or_die(pTHX_ SV *sv, STRLEN want, const char *op);
/* Zeroed scratch memory for count items of size bytes, freed with the
 * statement, or ENOMEM. */
void *bsd_scratch(pTHX_ size_t count, size_t size, const char *op);

/* The *_into calls' one validator, and what they do when done (see
 * bsd_args.c). */
char *bsd_into_prepare(pTHX_ SV *buf, SV *nbytes_sv, STRLEN *nbytes, const char *op);
void  bsd_into_finish(pTHX_ SV *buf, STRLEN n);

/* ------------------------------------------------------------- addresses */

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

/* Perl value -> sockaddr for a socket of `family`.  `args` points at the
 * address argument and nargs counts it and what follows it on the stack:
 * one value is an address (SPEC 3); two are the seed's (host, port). */
void bsd_sockaddr_from_args(pTHX_ int family, SV **args, I32 nargs,
                            bsd_addr *out);
#define sockaddr_from_sv(family, sv, out) \
    bsd_sockaddr_from_args(aTHX_ family, &(sv), 1, out)
/* The same for one address whose get-magic has run already.  family
 * AF_UNSPEC takes an AF_INET or AF_INET6 address, whichever it is;
 * flags BSD_ADDR_NUMERIC refuses a host that would need the resolver. */
#define BSD_ADDR_NUMERIC 1
void bsd_sockaddr_from_sv_nomg(pTHX_ int family, SV *address, bsd_addr *out, int flags);
/* An address as getaddrinfo gave it. */
struct addrinfo;
void bsd_addr_from_ai(const struct addrinfo *ai, bsd_addr *out);

/* sockaddr -> a new Perl value (SPEC 3); a zero length gives undef.
 * Arrays come out read-only and remember their sockaddr. */
SV *bsd_sockaddr_to_sv(pTHX_ const bsd_addr *addr);
#define sockaddr_to_sv(addr) bsd_sockaddr_to_sv(aTHX_ addr)
SV *bsd_sockaddr_to_sv_cached(pTHX_ const bsd_addr *addr, SV **cache);

/* ------------------------------------------------------------ the calls */

/* One call through the driver (bsd_call_run in bsd_sock.c): the system
 * call to make and what to do around it.  attempt() makes the call once
 * and returns >= 0, or -1 with errno set. */
typedef struct bsd_call bsd_call;
struct bsd_call {
    bsd_sock   *sock;
    SV         *self;       /* the object: kept alive while signal handlers run */
    const char *op;         /* names the call in errors */
    const bsd_addr *peer;   /* the address the call is aimed at, named in
                               errors (connect, sendto), or NULL */
    short       events;     /* POLLIN or POLLOUT: what a wait waits for */
    bool        guarded;    /* guard() has run */
    ssize_t   (*attempt)(bsd_call *c);
    /* Called once, before the first Perl code (a signal handler) runs in
     * the middle of the call: copy whatever that code could free. */
    void      (*guard)(pTHX_ bsd_call *c);
    /* Called after Perl code ran in the middle of the call: look again at
     * what that code could have changed (the fds a call passes on). */
    void      (*recheck)(pTHX_ bsd_call *c);
    void       *ctx;        /* the call's own data, for guard and recheck */
    double      deadline;   /* when a timeout runs out (monotonic s), 0 = not yet set */
    IV          sent;       /* sendall: bytes sent so far, for the error; -1 otherwise */
    SV         *bounce;     /* recv_into: where the data went once Perl code ran */
    SV         *target;     /* recv_into: the caller's buffer (held once Perl code runs) */
    /* the system call's arguments */
    char       *buf;
    size_t      len;
    int         flags;
    bsd_addr   *addr;
    union {                 /* and those of the calls with more */
        struct msghdr *msg;                                  /* sendmsg, recvmsg */
        struct {                                             /* send_many, recv_many */
            struct mmsghdr *vec; unsigned count;                 /* recv_many */
            void *batch;                                         /* send_many (bsd_msg.c) */
            struct iovec *iov; size_t iovcnt;    /* send_many: every buffer not yet sent */
        } mmsg;
        struct { int in_fd; off_t offset; } file;            /* sendfile */
    } x;
};

#define BSD_CALL_INIT(c, s_, self_, op_, peer_, events_, attempt_)    \
    STMT_START {                                                      \
        (c).sock = (s_); (c).self = (self_); (c).op = (op_);          \
        (c).peer = (peer_); (c).events = (events_);                   \
        (c).guarded = FALSE; (c).attempt = (attempt_);                \
        (c).guard = NULL; (c).recheck = NULL; (c).ctx = NULL;         \
        (c).deadline = 0; (c).sent = -1;                              \
        (c).bounce = NULL; (c).target = NULL;                         \
        (c).buf = NULL; (c).len = 0; (c).flags = 0; (c).addr = NULL;  \
    } STMT_END

/* The one place that waits (bsd_sock.c): wait_once(ctx, ms) until
 * something is ready or the deadline (bsd_now() seconds, 0 = none);
 * signals run Perl's handlers.  Returns what wait_once did, 0 if the time
 * ran out.  bsd_poll_wait is it with poll(2) on pfds. */
typedef int (*bsd_wait_once)(void *ctx, int ms);
int     bsd_wait(pTHX_ bsd_wait_once wait_once, void *ctx, double deadline,
                 bsd_call *c, const char *op);
double  bsd_now(void);
int     bsd_poll_wait(pTHX_ struct pollfd *pfds, nfds_t n, double deadline,
                      bsd_call *c, const char *op);
int     bsd_set_fd_nonblocking(int fd, bool nonblocking);

/* The driver after a failed first attempt (err is its errno). */
ssize_t bsd_call_failed(pTHX_ bsd_call *c, int err);
/* Its parts, for calls that also wait on something else (sendfile's
 * input): run Perl's pending signal handlers, guarding the call first;
 * die with err (and the bytes sent, if the call counts them); die with
 * BSDSocket::Error::Timeout. */
void    bsd_call_signals(pTHX_ bsd_call *c);
void    bsd_call_die(pTHX_ const bsd_call *c, int err) __attribute__noreturn__;
void    bsd_call_timed_out(pTHX_ const bsd_call *c) __attribute__noreturn__;

/* The driver: make the call, and let bsd_call_failed() deal with failure. */
PERL_STATIC_INLINE ssize_t
S_bsd_call_run(pTHX_ bsd_call *c)
{
    const ssize_t r = c->attempt(c);
    return LIKELY(r >= 0) ? r : bsd_call_failed(aTHX_ c, errno);
}
#define bsd_call_run(c) S_bsd_call_run(aTHX_ c)

/* Linux moves at most this much in one call (MAX_RW_COUNT: INT_MAX
 * rounded down to a page) whatever length it is given; pass no more. */
#define BSD_MAX_IO ((size_t)0x7ffff000)
#define BSD_IO_LEN(n) ((size_t)(n) < BSD_MAX_IO ? (size_t)(n) : BSD_MAX_IO)

/* Small results go into the call site's target scalar (no allocation per
 * call; the caller's assignment copies the few bytes); bigger ones into a
 * scalar of their own, which that assignment takes over without a copy.
 * Under taint mode the target is not used (it would stay tainted). */
#define BSD_RECV_TARG_MAX 1024
#define BSD_RECV_TARG(targ, bufsize) \
    ((bufsize) <= BSD_RECV_TARG_MAX && !TAINTING_get ? (targ) : NULL)

/* The helpers behind the methods; `self` is the object's reference (ST(0)),
 * results are mortal. */
SV     *bsd_sock_create(pTHX_ HV *stash, int family, int type, int proto);
void    bsd_sock_pair(pTHX_ HV *stash, int family, int type, int proto,
                      SV **a, SV **b);
SV     *bsd_sock_fromfd(pTHX_ HV *stash, int fd, SV *family, SV *type,
                        SV *proto);
/* recv/recvfrom: into `into` (returned), or a new mortal if it is NULL. */
SV     *bsd_sock_recv(pTHX_ bsd_sock *s, SV *self, SV *into, STRLEN bufsize,
                      int flags, bsd_addr *from);
ssize_t bsd_sock_send(pTHX_ bsd_sock *s, SV *self, SV *data, int flags,
                      bsd_addr *to, const char *op);
SV     *bsd_sock_accept(pTHX_ bsd_sock *s, SV *self, bsd_addr *peer);
STRLEN  bsd_sock_recv_into(pTHX_ bsd_sock *s, SV *self, SV *buf, SV *nbytes,
                           int flags, bsd_addr *from);
SV     *bsd_sock_dup(pTHX_ bsd_sock *s, SV *self);
int     bsd_sock_connect(pTHX_ bsd_sock *s, SV *self, bsd_addr *addr,
                         bool report_timeout);
STRLEN  bsd_sock_sendall(pTHX_ bsd_sock *s, SV *self, SV *data, int flags);
void    bsd_sock_settimeout(pTHX_ bsd_sock *s, double timeout, const char *op);
void    bsd_sock_own_mode(pTHX_ bsd_sock *s, const char *op);
bool    bsd_sock_get_inheritable(pTHX_ bsd_sock *s);
void    bsd_sock_set_inheritable(pTHX_ bsd_sock *s, bool inheritable);
double  bsd_get_default_timeout(void);
void    bsd_set_default_timeout(double timeout);
/* A timeout argument: undef (-1, blocking) or seconds >= 0; dies if not. */
double  bsd_sv_to_timeout(pTHX_ SV *sv, const char *op);
/* The same where 0 cannot be (a call that must wait for something). */
double  bsd_sv_to_wait_timeout(pTHX_ SV *sv, const char *op);
void    bsd_sock_close(pTHX_ bsd_sock *s);
int     bsd_sock_detach(pTHX_ bsd_sock *s);
SV     *bsd_sock_getsockopt(pTHX_ bsd_sock *s, int level, int name,
                            SV *buflen);
void    bsd_sock_setsockopt(pTHX_ bsd_sock *s, int level, int name, SV *value);
SV     *bsd_sock_makefile(pTHX_ bsd_sock *s, SV *mode, SV *bufsize);
int     bsd_dup_cloexec(pTHX_ int fd, const char *op);
SV     *bsd_handle_from_fd(pTHX_ int fd, bool want_read, bool want_write,
                           bool unbuffered, const char *op);
SV     *bsd_try_handle_from_fd(pTHX_ int fd, bool want_read, bool want_write,
                               bool unbuffered);

/* The rest of the data-transfer calls (bsd_msg.c). */
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

/* Dotted quads, strictly as inet_pton reads them, and back (bsd_addr.c). */
bool    bsd_parse_in4(const char *pv, STRLEN len, struct in_addr *out);
STRLEN  bsd_format_in4(const struct in_addr *in, char *text);

/* The resolver and the helpers (bsd_resolve.c). */
const char *bsd_service_arg(pTHX_ SV *sv, const char *op);
AV     *bsd_getaddrinfo(pTHX_ SV *host, SV *port, int family, int type,
                        int proto, int flags);
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

/* create_connection (bsd_connect.c); timeout < 0: blocking. */
SV     *bsd_create_connection(pTHX_ SV *address, double timeout, SV *source);

/* The method-call shortcut (bsd_fast.c): set up at BOOT, again per thread. */
void    bsd_fast_boot(pTHX);
void    bsd_fast_clone(pTHX);
UV      bsd_fast_taken(pTHX);

/* The fd behind an item: a socket object, a Perl handle or a plain
 * integer (bsd_sock.c).  bsd_fd_of runs get-magic and dies for a closed
 * one; the _nomg ones say which kind it was, and the quiet one gives -1
 * for a closed socket or handle. */
int     bsd_fd_of(pTHX_ SV *sv, const char *op);
enum { BSD_ITEM_SOCK, BSD_ITEM_HANDLE, BSD_ITEM_FD };
typedef struct { int kind; bsd_sock *sock; } bsd_item_info;
int     bsd_item_fd_nomg(pTHX_ SV *sv, bsd_item_info *info, const char *op);
int     bsd_item_fd_quiet_nomg(pTHX_ SV *sv, bsd_item_info *info, const char *op);
int     bsd_item_current_fd(pTHX_ SV *handle);
/* An item a call keeps using while Perl code may run (bsd_sock.c). */
typedef struct { SV *item; int fd; dev_t dev; ino_t ino; } bsd_held_fd;
void    bsd_held_fd_take(pTHX_ SV *sv, bsd_held_fd *h);
int     bsd_held_fd_open(pTHX_ bsd_held_fd *h, const char *op);
int     bsd_held_fd_again(pTHX_ bsd_held_fd *h, const char *op);

/* Readiness (bsd_ready.c): BSDSocket::select and BSDSocket::Poller. */
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
AV         *bsd_poller_poll(pTHX_ bsd_poller *p, SV *self, SV *timeout);

#endif /* BSDSOCKET_H */
