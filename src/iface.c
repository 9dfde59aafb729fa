/*
 * iface.c - network interfaces by name and by index: if_nameindex,
 * if_nametoindex, if_indextoname.
 *
 * Names are checked as strictly as addresses are: a string of bytes with
 * no NUL, shorter than IF_NAMESIZE (a longer one is refused, never cut
 * to a name that may be another interface's).
 */
#define PERL_NO_GET_CONTEXT
#include "EXTERN.h"
#include "perl.h"
#include "XSUB.h"

#include <errno.h>
#include <net/if.h>
#include <string.h>

#include "bsdsocket.h"

/* if_nameindex(): a list (a mortal array) of [$index, $name]. */
AV *
bsd_if_nameindex(pTHX)
{
    AV *const list = (AV *)sv_2mortal(MUTABLE_SV(newAV()));
    struct if_nameindex *const all = if_nameindex();
    const struct if_nameindex *i;
    if (!all)
        bsd_die_errno(aTHX_ "if_nameindex", errno ? errno : ENOMEM, NULL);
    for (i = all; i->if_index != 0 || i->if_name; i++) {
        AV *const entry = newAV();
        av_push(list, newRV_noinc(MUTABLE_SV(entry)));
        av_push(entry, newSVuv(i->if_index));
        av_push(entry, bsd_tainted(newSVpv(i->if_name ? i->if_name : "", 0)));
    }
    if_freenameindex(all);
    return list;
}

/* if_nametoindex($name): its index; an interface that is not there dies
 * ENODEV (what Linux says; ENXIO where the system says that).  (op: the
 * call that asked, for its errors: sockopt's memberships ask too.) */
UV
bsd_if_nametoindex(pTHX_ SV *name_sv, const char *op)
{
    const char *name;
    unsigned index;
    SvGETMAGIC(name_sv);
    name = bsd_cstring_nomg(aTHX_ name_sv, "interface name", op, NULL);
    if (!*name || strlen(name) >= IF_NAMESIZE)
        bsd_die_arg(aTHX_ op,
                    "an interface name is 1 to %d bytes, got %" SVf, IF_NAMESIZE - 1,
                    SVfARG(bsd_describe(aTHX_ name_sv)));
    errno = 0;
    index = if_nametoindex(name);
    if (index == 0) {
        bsd_error e = BSD_ERROR(op, errno ? errno : ENODEV);
        e.message = newSVpvf("no interface named '%s'", name);
        bsd_throw(aTHX_ &e);
    }
    return index;
}

/* if_indextoname($index): its name; an index with no interface (0 is
 * none) dies ENXIO. */
SV *
bsd_if_indextoname(pTHX_ SV *index_sv)
{
    const U32 index = bsd_sv_to_u32(aTHX_ index_sv, "interface index", "if_indextoname");
    char name[IF_NAMESIZE + 1];
    errno = 0;
    if (!if_indextoname((unsigned)index, name)) {
        bsd_error e = BSD_ERROR("if_indextoname", errno ? errno : ENXIO);
        e.message = newSVpvf("no interface with index %" UVuf, (UV)index);
        bsd_throw(aTHX_ &e);
    }
    name[IF_NAMESIZE] = '\0';
    return bsd_tainted(sv_2mortal(newSVpv(name, 0)));
}
