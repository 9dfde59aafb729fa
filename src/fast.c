/*
 * fast.c - a shortcut for method calls on BSDSocket::Socket objects.
 *
 * Calling an XSUB as a method costs more than the XSUB itself:
 * pp_method_named looks the name up in the object's stash (a hash lookup
 * per call), and pp_entersub wraps the call in ENTER/SAVETMPS/LEAVE and
 * copies PADTMP arguments.  For a 1-byte send or recv that is about two
 * thirds of the user-space work (see bench/ and the POD's PERFORMANCE).
 *
 * So, at compile time, the method_named op of `$obj->send(...)` (and of
 * the other names in bsd_fast_names[]) gets a pp function of its own.
 * At run time it takes the shortcut only when all of this holds:
 *   - the invocant is an object blessed into BSDSocket::Socket itself
 *     (a subclass may override the method: it takes perl's path);
 *   - the method in that stash is still our XSUB (not redefined);
 *   - the op after it is a plain entersub (no debugger, no lvalue call,
 *     and no other module's replacement pp function);
 * and then it calls the XSUB the way pp_entersub's XS branch does, minus
 * what our XSUBs do not need: their mortals belong to the caller's
 * statement either way (so no SAVETMPS), and only the methods that write
 * into an argument (recv_into, recvfrom_into) could tell a temporary
 * argument from the copy pp_entersub would give them, so only those get
 * the copy.  Anything else goes to perl's own pp_method_named, unchanged.
 */
#define PERL_NO_GET_CONTEXT
#include "EXTERN.h"
#include "perl.h"
#include "XSUB.h"

#include "bsdsocket.h"

/* The methods worth the shortcut: the ones called per message. */
#define BSD_FAST_METHODS(X) \
    X(send) X(recv) X(sendto) X(recvfrom) X(fileno) X(accept) X(connect) \
    X(close) X(sendall) X(recv_into) X(recvfrom_into) X(send_many) X(recv_many)

#define X_ENUM(name) BSD_FAST_##name,
enum { BSD_FAST_METHODS(X_ENUM) BSD_FAST_COUNT };
#undef X_ENUM

#define X_NAME(name) #name,
static const char *const bsd_fast_names[BSD_FAST_COUNT] = { BSD_FAST_METHODS(X_NAME) };
#undef X_NAME

/* The XSUBs themselves: the same code in every interpreter. */
static XSUBADDR_t bsd_fast_xsub[BSD_FAST_COUNT];

/* Per interpreter: the class's stash and each method's glob in it, as
 * they were when the stash's method generation was `gen` (perl bumps it
 * whenever a method of the class is defined, redefined or deleted). */
#define MY_CXT_KEY "BSDSocket::_fast_guts" XS_VERSION
typedef struct {
    HV *stash;
    U32 gen;
    GV *gv[BSD_FAST_COUNT];     /* NULL: the class has no such glob now */
    UV  taken;          /* shortcuts taken, for the tests (t/53-fastcall.t) */
} my_cxt_t;
START_MY_CXT

static Perl_check_t bsd_next_ck_method_named;

/* A variable the data can go into directly: a plain scalar with no
 * magic, not read-only, not holding a reference. */
static bool
S_plain_variable(SV *var)
{
    return SvTYPE(var) <= SVt_PVMG && !SvMAGICAL(var)
        && !(SvFLAGS(var) & (SVf_READONLY | SVf_PROTECT | SVf_ROK));
}

/* `$lexical = $sock->recv(...)`: receive straight into $lexical's buffer,
 * as sysread does, instead of into a temporary that sassign then copies
 * (or, for big buffers, swaps: allocating and freeing 64 KiB per call makes
 * glibc trim and refault its heap).  Only for a plain lexical (see
 * S_plain_variable); the padsv and sassign ops are then done here (the
 * padsv's "my" included) and skipped.  NULL: not this pattern, take the
 * usual path. */
static OP *
S_fast_recv_assign(pTHX_ SV **mark, OP *call)
{
    OP *const padsv = call->op_next;
    OP *assign;
    SV *var, *got;
    bsd_recv_args args;
    const SSize_t items = PL_stack_sp - mark;

    if (padsv->op_type != OP_PADSV || padsv->op_ppaddr != PL_ppaddr[OP_PADSV]
        || (padsv->op_private & OPpPAD_STATE))
        return NULL;
    assign = padsv->op_next;
    if (assign->op_type != OP_SASSIGN || assign->op_ppaddr != PL_ppaddr[OP_SASSIGN]
        || (assign->op_private & (OPpASSIGN_BACKWARDS | OPpASSIGN_CV_TO_GV)))
        return NULL;
    var = PAD_SVl(padsv->op_targ);
    if (!S_plain_variable(var) || items < 2 || items > 3)
        return NULL;

    bsd_recv_args_from(mark + 1, (I32)items, "recv", &args);  /* (as the XSUB does) */
    PL_markstack_ptr--;
    /* (converting the arguments can run Perl code that changes the
     * variable: look at it again) */
    got = bsd_sock_recv(aTHX_ args.sock, mark[1], S_plain_variable(var) ? var : NULL,
                        args.bufsize, args.flags, NULL);
    if (padsv->op_private & OPpLVAL_INTRO)      /* my $data = ... */
        save_clearsv(&PAD_SVl(padsv->op_targ));
    if (got != var)                 /* the data went elsewhere: assign it */
        SvSetMagicSV(var, got);
    PL_stack_sp = mark + 1;                      /* sassign leaves the variable */
    *PL_stack_sp = var;
    return assign->op_next;
}

/* The class's method globs as they are now. */
static void
S_find_methods(pTHX_ my_cxt_t *cxt)
{
    int i;
    cxt->gen = HvMROMETA(cxt->stash)->pkg_gen;
    for (i = 0; i < BSD_FAST_COUNT; i++) {
        SV **const svp = hv_fetch(cxt->stash, bsd_fast_names[i],
                                  (I32)strlen(bsd_fast_names[i]), 0);
        GV *const gv = svp && isGV_with_GP(*svp) ? (GV *)*svp : NULL;
        /* held for as long as we use it */
        SvREFCNT_dec(cxt->gv[i]);
        cxt->gv[i] = gv ? (GV *)SvREFCNT_inc_simple_NN(gv) : NULL;
    }
}

PERL_STATIC_INLINE OP *
S_fast_method(pTHX_ int i)
{
    OP *const call = PL_op->op_next;
    SV **const mark = PL_stack_base + TOPMARK;
    dMY_CXT;

    if (LIKELY(mark < PL_stack_sp)) {
        SV *const invocant = mark[1];
        /* (a tied invocant takes perl's path, which reads it) */
        if (LIKELY(SvROK(invocant) && !SvGMAGICAL(invocant))) {
            SV *const obj = SvRV(invocant);
            CV *cv;
            if (UNLIKELY(HvMROMETA(MY_CXT.stash)->pkg_gen != MY_CXT.gen))
                S_find_methods(aTHX_ &MY_CXT);    /* a method was (re)defined or deleted */
            cv = MY_CXT.gv[i] ? GvCV(MY_CXT.gv[i]) : NULL;
            if (LIKELY(SvOBJECT(obj) && SvSTASH(obj) == MY_CXT.stash
                       && cv && CvISXSUB(cv) && CvXSUB(cv) == bsd_fast_xsub[i]
                       && call->op_ppaddr == PL_ppaddr[OP_ENTERSUB]
                       && (call->op_flags & OPf_STACKED)
                       && !(call->op_private & (OPpENTERSUB_DB | OPpLVAL_INTRO)))) {
                const SSize_t markix = TOPMARK;
                bool is_scalar;
                PL_op = call;               /* GIMME_V and dXSTARG read the entersub */
                MY_CXT.taken++;
                if (i == BSD_FAST_recv) {
                    OP *const next = S_fast_recv_assign(aTHX_ mark, call);
                    if (next)
                        return next;
                }
                /* as pp_entersub: the XSUB gets copies of temporaries,
                 * which only the methods that write into an argument
                 * could tell from the temporaries themselves */
                if (i == BSD_FAST_recv_into || i == BSD_FAST_recvfrom_into) {
                    SV **arg;
                    for (arg = mark + 1; arg <= PL_stack_sp; arg++)
                        if (SvPADTMP(*arg))
                            *arg = sv_mortalcopy(*arg);
                }
                is_scalar = GIMME_V == G_SCALAR;
                CvXSUB(cv)(aTHX_ cv);
                if (is_scalar) {            /* as pp_entersub: exactly one value */
                    SV **const svp = PL_stack_base + markix + 1;
                    if (svp != PL_stack_sp) {
                        *svp = svp > PL_stack_sp ? &PL_sv_undef : *PL_stack_sp;
                        PL_stack_sp = svp;
                    }
                }
                return call->op_next;
            }
        }
    }
    return PL_ppaddr[OP_METHOD_NAMED](aTHX);
}

#define X_PP(name) static OP *S_pp_fast_##name(pTHX) { return S_fast_method(aTHX_ BSD_FAST_##name); }
BSD_FAST_METHODS(X_PP)
#undef X_PP

#define X_PTR(name) S_pp_fast_##name,
static Perl_ppaddr_t const bsd_fast_pp[BSD_FAST_COUNT] = { BSD_FAST_METHODS(X_PTR) };
#undef X_PTR

/* Every method_named op compiled while BSDSocket is loaded passes here. */
static OP *
S_ck_method_named(pTHX_ OP *o)
{
    o = bsd_next_ck_method_named(aTHX_ o);
    if (o->op_type == OP_METHOD_NAMED) {
        SV *const name = cMETHOPx(o)->op_u.op_meth_sv;
        if (name && SvPOK(name)) {
            int i;
            for (i = 0; i < BSD_FAST_COUNT; i++)
                if (strEQ(SvPVX(name), bsd_fast_names[i])) {
                    o->op_ppaddr = bsd_fast_pp[i];
                    break;
                }
        }
    }
    return o;
}

static void
S_fill_cxt(pTHX_ my_cxt_t *cxt)
{
    int i;
    cxt->taken = 0;
    /* (held: a stash freed and another made at its address must not pass
     * for it) */
    cxt->stash = (HV *)SvREFCNT_inc_simple_NN(gv_stashpvs(BSD_SOCKET_CLASS, GV_ADD));
    for (i = 0; i < BSD_FAST_COUNT; i++)
        cxt->gv[i] = NULL;
    S_find_methods(aTHX_ cxt);
}

/* BOOT: after the XSUBs exist. */
void
bsd_fast_boot(pTHX)
{
    MY_CXT_INIT;
    int i;
    for (i = 0; i < BSD_FAST_COUNT; i++) {
        CV *const cv = get_cv(Perl_form(aTHX_ "%s::%s", BSD_SOCKET_CLASS,
                                        bsd_fast_names[i]), 0);
        bsd_fast_xsub[i] = cv && CvISXSUB(cv) ? CvXSUB(cv) : NULL;
    }
    S_fill_cxt(aTHX_ &MY_CXT);
    /* process-wide, once (wrap_op_checker is idempotent per slot only if
     * we guard it ourselves) */
    if (!bsd_next_ck_method_named)
        wrap_op_checker(OP_METHOD_NAMED, S_ck_method_named, &bsd_next_ck_method_named);
}

/* A new thread's interpreter has its own stash and globs. */
void
bsd_fast_clone(pTHX)
{
    MY_CXT_CLONE;
    S_fill_cxt(aTHX_ &MY_CXT);
}

UV
bsd_fast_taken(pTHX)
{
    dMY_CXT;
    return MY_CXT.taken;
}
