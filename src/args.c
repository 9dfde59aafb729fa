/*
 * args.c - argument conversion: strict integers, byte strings, buffers.
 *
 * Every argument is get-magic'd exactly once, here, and read with
 * the _nomg accessors afterwards.  Integers are strict: what Perl's
 * numeric conversion would quietly turn into 0 or truncate dies instead,
 * because a flags value of 'abc' or a size of 1.5 is a bug in the caller.
 */
#define PERL_NO_GET_CONTEXT
#include "EXTERN.h"
#include "perl.h"
#include "XSUB.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "bsdsocket.h"

/* Requests at least this big are tried with malloc() first, so a size the
 * system cannot give dies with ENOMEM instead of perl's fatal "Out of
 * memory!".  Smaller ones cannot fail in any way worth catching. */
#define BSD_PROBE_MIN ((STRLEN)256 * 1024)

/* An integer as its sign and magnitude, so that one parser serves both
 * signed (IV) and unsigned (UV) ranges: a 32-bit value such as a scope
 * id or an htonl argument is a UV where IVs are 32 bits wide. */
typedef struct { bool negative; UV magnitude; } bsd_int_value;

/* A decimal integer string: an optional '-' and ASCII digits, nothing
 * else (no blanks, no '+', no hex, no exponent). */
static int
S_parse_decimal(const char *pv, STRLEN len, bsd_int_value *out)
{
    const char *p = pv, *const end = pv + len;
    UV value = 0;
    out->negative = p < end && *p == '-';
    if (out->negative)
        p++;
    if (p == end)
        return BSD_INT_NOT_INTEGER;
    for (; p < end; p++) {
        if (!isDIGIT(*p))
            return BSD_INT_NOT_INTEGER;
        if (value > (UV_MAX - 9) / 10)
            return BSD_INT_RANGE;
        value = value * 10 + (UV)(*p - '0');
    }
    out->magnitude = value;
    return BSD_INT_OK;
}

/* An overload method gets the value as its $_[0].  If that is a tied
 * scalar, reading $_[0] would FETCH it a second time: hand it a plain
 * copy of what the one FETCH gave. */
SV *
bsd_plain_copy(pTHX_ SV *sv)
{
    return SvGMAGICAL(sv) ? sv_2mortal(newSVsv_nomg(sv)) : sv;
}

/* Can this object be read as a string or a number?  Its class overloads
 * "", 0+ or bool (perl makes each from the others), or says fallback =>
 * 1.  Otherwise perl would croak "no method found" with a plain string. */
bool
bsd_overload_converts(pTHX_ SV *sv)
{
    HV *const stash = SvSTASH(SvRV(sv));
    const MAGIC *mg;
    if (gv_handler(stash, string_amg) || gv_handler(stash, numer_amg)
        || gv_handler(stash, bool__amg))
        return TRUE;
    mg = mg_find(MUTABLE_SV(stash), PERL_MAGIC_overload_table);
    return mg && mg->mg_ptr && ((const AMT *)mg->mg_ptr)->fallback == AMGfallYES;
}

static int
S_parse_int(pTHX_ SV *sv, bsd_int_value *out, int depth)
{
    out->negative = FALSE;
    if (SvROK(sv)) {
        /* an object with numeric overloading: use what its 0+ says */
        if (SvAMAGIC(sv) && depth < 4 && bsd_overload_converts(aTHX_ sv)) {
            SV *const num = AMG_CALLunary(bsd_plain_copy(aTHX_ sv), numer_amg);
            if (num)
                return S_parse_int(aTHX_ num, out, depth + 1);
        }
        return BSD_INT_NOT_INTEGER;
    }
#ifdef SvIsBOOL
    if (SvIsBOOL(sv)) {                /* !!1 and !!0 are the 1 and 0 they mean */
        out->magnitude = SvTRUE_nomg_NN(sv) ? 1 : 0;
        return BSD_INT_OK;
    }
#endif
    if (SvPOK(sv))
        /* a string is judged as a string, whatever numeric value perl has
         * cached for it: ' 80' is no port, even after ' 80' + 0 */
        return S_parse_decimal(SvPVX_const(sv), SvCUR(sv), out);
    if (SvIOK(sv)) {
        if (SvIsUV(sv))
            out->magnitude = SvUVX(sv);
        else if (SvIVX(sv) < 0) {
            out->negative = TRUE;
            out->magnitude = (UV)(-(SvIVX(sv) + 1)) + 1;
        }
        else
            out->magnitude = (UV)SvIVX(sv);
        return BSD_INT_OK;
    }
    if (SvNOK(sv)) {
        const NV nv = SvNVX(sv);
        const NV size = nv < 0 ? -nv : nv;
        if (Perl_isnan(nv) || (!Perl_isinf(nv) && nv != Perl_floor(nv)))
            return BSD_INT_NOT_INTEGER;
        /* (NV)UV_MAX + 1 is 2**64 (or 2**32) exactly: below it the cast
         * cannot overflow */
        if (size >= (NV)UV_MAX + 1.0)
            return BSD_INT_RANGE;
        out->negative = nv < 0;
        out->magnitude = (UV)size;
        return BSD_INT_OK;
    }
    return BSD_INT_NOT_INTEGER;       /* undef, globs, code, ... */
}

int
bsd_parse_iv(pTHX_ SV *sv, IV min, IV max, IV *out)
{
    bsd_int_value v;
    IV value;
    const int status = S_parse_int(aTHX_ sv, &v, 0);
    if (status != BSD_INT_OK)
        return status;
    if (v.negative) {
        if (v.magnitude > (UV)IV_MAX + 1)
            return BSD_INT_RANGE;
        value = v.magnitude == (UV)IV_MAX + 1 ? IV_MIN : -(IV)v.magnitude;
    }
    else {
        if (v.magnitude > (UV)IV_MAX)
            return BSD_INT_RANGE;
        value = (IV)v.magnitude;
    }
    if (value < min || value > max)
        return BSD_INT_RANGE;
    *out = value;
    return BSD_INT_OK;
}

int
bsd_parse_uv(pTHX_ SV *sv, UV max, UV *out)
{
    bsd_int_value v;
    const int status = S_parse_int(aTHX_ sv, &v, 0);
    if (status != BSD_INT_OK)
        return status;
    if ((v.negative && v.magnitude) || v.magnitude > max)
        return BSD_INT_RANGE;
    *out = v.magnitude;
    return BSD_INT_OK;
}

/* A 32-bit unsigned argument (htonl's, a scope id): read as a UV, so it
 * works the same where IVs are 32 bits wide. */
U32
bsd_sv_to_u32(pTHX_ SV *sv, const char *what, const char *op)
{
    UV value = 0;
    SvGETMAGIC(sv);
    if (bsd_parse_uv(aTHX_ sv, 0xffffffffU, &value) != BSD_INT_OK)
        bsd_die_arg(aTHX_ op, "%s must be an integer in 0..4294967295, got %" SVf, what,
                    SVfARG(bsd_describe(aTHX_ sv)));
    return (U32)value;
}

/* "an integer in 0..65535", "a non-negative integer", ... */
SV *
bsd_int_range_text(pTHX_ IV min, IV max)
{
    if (min == 0 && max == IV_MAX)
        return sv_2mortal(newSVpvs("a non-negative integer"));
    if (min == IV_MIN && max == IV_MAX)
        return sv_2mortal(newSVpvs("an integer"));
    return sv_2mortal(newSVpvf("an integer in %" IVdf "..%" IVdf, min, max));
}

IV
bsd_iv_nomg(pTHX_ SV *sv, IV min, IV max, const char *what, const char *op)
{
    IV value = 0;
    if (bsd_parse_iv(aTHX_ sv, min, max, &value) == BSD_INT_OK)
        return value;
    bsd_die_arg(aTHX_ op, "%s must be %" SVf ", got %" SVf, what,
                SVfARG(bsd_int_range_text(aTHX_ min, max)),
                SVfARG(bsd_describe(aTHX_ sv)));
}

IV
bsd_sv_to_iv(pTHX_ SV *sv, IV min, IV max, const char *what, const char *op)
{
    SvGETMAGIC(sv);
    return bsd_iv_nomg(aTHX_ sv, min, max, what, op);
}

const char *
bsd_bytes_nomg(pTHX_ SV *sv, STRLEN *len)
{
    const char *pv;
    if (SvROK(sv))               /* "" overloading: see bsd_plain_copy */
        sv = bsd_plain_copy(aTHX_ sv);
    pv = SvPV_nomg(sv, *len);
    if (UNLIKELY(SvUTF8(sv))) {
        /* characters that all fit in a byte are those bytes; a wider one
         * cannot be sent, as syswrite says */
        bool is_utf8 = TRUE;
        STRLEN n = *len;
        U8 *const bytes = bytes_from_utf8((const U8 *)pv, &n, &is_utf8);
        if (is_utf8)
            return NULL;
        if ((const char *)bytes != pv) {
            /* owned by a mortal so it goes away with the statement */
            SV *const owner = sv_2mortal(newSV_type(SVt_PV));
            sv_usepvn_flags(owner, (char *)bytes, n, SV_HAS_TRAILING_NUL);
        }
        *len = n;
        return (const char *)bytes;
    }
    return pv;
}

bool
bsd_is_stringish(pTHX_ SV *sv)
{
    if (SvROK(sv))
        return SvAMAGIC(sv) && bsd_overload_converts(aTHX_ sv);
    return SvOK(sv) && !isGV_with_GP(sv);
}

const char *
bsd_sv_to_bytes(pTHX_ SV *sv, STRLEN *len, const char *what, const char *op)
{
    /* (the usual one, a plain string of bytes, as it is) */
    if (LIKELY(SvTYPE(sv) <= SVt_PVMG
               && (SvFLAGS(sv) & (SVf_POK | SVf_UTF8 | SVf_ROK | SVs_GMG)) == SVf_POK)) {
        *len = SvCUR(sv);
        return SvPVX(sv);
    }
    SvGETMAGIC(sv);
    return bsd_sv_to_bytes_nomg(aTHX_ sv, len, what, op);
}

const char *
bsd_sv_to_bytes_nomg(pTHX_ SV *sv, STRLEN *len, const char *what, const char *op)
{
    const char *pv;
    if (!bsd_is_stringish(aTHX_ sv))
        bsd_die_arg(aTHX_ op, "%s must be a string, got %" SVf, what,
                    SVfARG(bsd_describe(aTHX_ sv)));
    pv = bsd_bytes_nomg(aTHX_ sv, len);
    if (!pv)
        bsd_die_arg(aTHX_ op, "Wide character in %s", op);
    return pv;
}

const char *
bsd_cstring_nomg(pTHX_ SV *sv, const char *what, const char *op, SV *address)
{
    STRLEN len;
    const char *pv = bsd_is_stringish(aTHX_ sv) ? bsd_bytes_nomg(aTHX_ sv, &len) : NULL;
    SV *why = NULL;
    if (!bsd_is_stringish(aTHX_ sv))
        why = newSVpvf("%s must be a string, got %" SVf, what, SVfARG(bsd_describe(aTHX_ sv)));
    else if (!pv)
        why = newSVpvf("Wide character in %s", what);
    /* (C would stop at a NUL, and look up or bind a different name) */
    else if (memchr(pv, '\0', len))
        why = newSVpvf("NUL character inside %s %" SVf, what, SVfARG(bsd_describe(aTHX_ sv)));
    if (why) {
        bsd_error e = BSD_ERROR(address ? "address" : op, EINVAL);
        e.message = why;
        e.address = address;
        bsd_throw(aTHX_ &e);
    }
    /* a copy: later arguments' magic cannot change or free it under us */
    return SvPVX(sv_2mortal(newSVpvn(pv, len)));
}

char *
bsd_grow_or_die(pTHX_ SV *sv, STRLEN want, const char *op)
{
    if (UNLIKELY(want >= (STRLEN)SSize_t_MAX - 1))
        bsd_die_errno(aTHX_ op, ENOMEM, NULL);
    SvUPGRADE(sv, SVt_PV);
    if (SvTHINKFIRST(sv))     /* copy-on-write or a string shared with a hash key */
        sv_force_normal_flags(sv, 0);
    /* a string whose start was chopped off (substr($v, 0, 4, '')) points
     * into its buffer: move it back, so that the buffer can be reallocated */
    if (SvOOK(sv))
        SvOOK_off(sv);
    if (SvLEN(sv) > want)
        return SvPVX(sv);
    if (want >= BSD_PROBE_MIN) {
        void *const probe = malloc(want + 1);
        if (!probe)
            bsd_die_errno(aTHX_ op, ENOMEM, NULL);
        free(probe);
    }
    return SvGROW(sv, want + 1);
}

/* Zeroed memory for count items of size bytes, freed with the statement;
 * ENOMEM when that much cannot be had (or count * size overflows). */
void *
bsd_scratch(pTHX_ size_t count, size_t size, const char *op)
{
    size_t total;
    char *p;
    if (size && count > ((size_t)SSize_t_MAX - 2) / size)
        bsd_die_errno(aTHX_ op, ENOMEM, NULL);
    total = count * size;
    if (total == 0)
        total = 1;
    p = bsd_grow_or_die(aTHX_ sv_newmortal(), total, op);
    Zero(p, total, char);
    return p;
}

/* A timeout: undef (-1, blocking) or seconds, at least 0 or, where
 * waiting for nothing makes no sense (create_connection), more than 0. */
static double
S_timeout(pTHX_ SV *sv, bool zero_ok, const char *op)
{
    NV seconds;
    SvGETMAGIC(sv);
    if (!SvOK(sv) && !SvROK(sv))
        return -1.0;                   /* undef: blocking */
    if (SvROK(sv) ? !(SvAMAGIC(sv) && bsd_overload_converts(aTHX_ sv))
                  : !looks_like_number(sv))
        goto bad;
    seconds = SvROK(sv) ? SvNV_nomg(bsd_plain_copy(aTHX_ sv)) : SvNV_nomg(sv);
    if (Perl_isnan(seconds) || Perl_isinf(seconds) || seconds < 0 || (seconds == 0 && !zero_ok))
        goto bad;
    return seconds;
  bad:
    bsd_die_arg(aTHX_ op, "timeout must be undef or a number of seconds %s, got %" SVf,
                zero_ok ? ">= 0" : "> 0", SVfARG(bsd_describe(aTHX_ sv)));
}

double
bsd_sv_to_timeout(pTHX_ SV *sv, const char *op)
{
    return S_timeout(aTHX_ sv, TRUE, op);
}

double
bsd_sv_to_wait_timeout(pTHX_ SV *sv, const char *op)
{
    return S_timeout(aTHX_ sv, FALSE, op);
}

/* A boolean argument (setblocking, set_inheritable): get-magic once; an
 * overload method gets the fetched value (bsd_plain_copy); a reference
 * without conversion overloading is simply true. */
bool
bsd_sv_to_bool(pTHX_ SV *sv)
{
    SvGETMAGIC(sv);
    if (SvROK(sv)) {
        if (!(SvAMAGIC(sv) && bsd_overload_converts(aTHX_ sv)))
            return TRUE;
        sv = bsd_plain_copy(aTHX_ sv);
    }
    return cBOOL(SvTRUE_nomg(sv));
}

/* The one validator for every *_into call (the bug class of CPython's
 * CVE-2014-1912 is a write past a buffer the caller sized): the target's
 * get-magic runs once; read-only and non-scalar targets die; $nbytes is a
 * non-negative integer, 0 meaning the buffer's current length; the buffer
 * is grown to hold nbytes (or ENOMEM), its content kept.  Returns where to
 * write, and *nbytes: never write more than that there. */
char *
bsd_into_prepare(pTHX_ SV *buf, SV *nbytes_sv, STRLEN *nbytes, const char *op)
{
    STRLEN want = 0;
    SvGETMAGIC(buf);
    if (nbytes_sv) {
        /* nbytes may run Perl code (magic, overloading), which could free
         * or change the buffer: hold it, and look at it only afterwards */
        if (SvGMAGICAL(nbytes_sv) || SvROK(nbytes_sv))
            sv_2mortal(SvREFCNT_inc_simple_NN(buf));
        want = (STRLEN)bsd_sv_to_iv(aTHX_ nbytes_sv, 0, IV_MAX, "nbytes", op);
    }
    if (SvREADONLY(buf))
        bsd_die_arg(aTHX_ op, "buffer is read-only");
    /* a plain scalar, or an lvalue that stands for one (a hash element
     * that does not exist yet, substr): as sysread takes */
    if (SvROK(buf) || isGV_with_GP(buf) || (SvTYPE(buf) > SVt_PVMG && SvTYPE(buf) != SVt_PVLV))
        bsd_die_arg(aTHX_ op, "buffer must be a plain scalar, got %" SVf,
                    SVfARG(bsd_describe(aTHX_ buf)));
    if (want == 0 && SvOK(buf)) {
        /* length($buffer): perl's view, whichever way perl stores it (an
         * upgraded "\xe9" is two bytes inside, one character outside) */
        STRLEN len;
        const char *const pv = SvPV_nomg(buf, len);
        want = SvUTF8(buf) ? utf8_length((const U8 *)pv, (const U8 *)pv + len) : len;
    }
    *nbytes = want;
    return bsd_grow_or_die(aTHX_ buf, want, op);
}

/* After n bytes went to the start of buf: it is those bytes (a byte
 * string, tainted under -T), and its set-magic runs once. */
void
bsd_into_finish(pTHX_ SV *buf, STRLEN n)
{
    SvCUR_set(buf, n);
    SvPVX(buf)[n] = '\0';
    (void)SvPOK_only(buf);
    if (UNLIKELY(TAINTING_get))
        SvTAINTED_on(buf);
    SvSETMAGIC(buf);
}

