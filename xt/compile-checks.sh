#!/usr/bin/env bash
# xt/compile-checks.sh - compile every C file of BSDSocket as a platform
# without Linux's and glibc's extras would, twice:
#
#   masked  gcc with -U__linux__, the Linux-only names #undef'd and the
#           Linux-only functions poisoned after the system headers (any
#           use left unguarded is an error), <sys/epoll.h> and
#           <sys/sendfile.h> replaced by #error stubs
#   musl    musl-gcc -fsyntax-only (Debian: musl-tools), with the probes
#           run by musl-gcc
#
#   xt/compile-checks.sh   (from a checkout; the normal build is left alone)
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
core=$(perl -MConfig -e 'print "$Config{archlibexp}/CORE"')
ccflags=$(perl -MConfig -e 'print $Config{ccflags}')
status=0

# a fresh copy of the distribution for each check
fresh() {
    rm -rf "$work/src"
    (cd "$top" && perl -MExtUtils::Manifest=maniread,manicopy -e 'manicopy(maniread(), $ARGV[0])' "$work/src") >/dev/null
    cd "$work/src"
}

# the C files, with BSDSocket.xs as xsubpp makes it
sources() {
    make BSDSocket.c >/dev/null
    ls BSDSocket.c src/*.c
}

# ------------------------------------------------------------- masked
fresh
BSDSOCKET_PORTABLE=1 perl Makefile.PL >/dev/null
mkdir -p "$work/stubs/sys" "$work/stubs/linux"
for h in sys/epoll.h sys/sendfile.h linux/un.h; do
    echo "#error \"<$h> is Linux only: guard it with a BSD_HAVE_* probe\"" >"$work/stubs/$h"
done
cat >"$work/masked.h" <<'EOF'
/* After the system headers: what only Linux or glibc has is gone. */
#undef SOCK_CLOEXEC
#undef SOCK_NONBLOCK
#undef MSG_NOSIGNAL
#undef MSG_CMSG_CLOEXEC
#undef MSG_WAITFORONE
#undef MSG_ERRQUEUE
#undef SO_DOMAIN
#undef SO_PROTOCOL
#undef SO_PASSCRED
#undef SO_PEERCRED
#undef SCM_CREDENTIALS
#undef SCM_PIDFD
#undef UDP_SEGMENT
#undef SOL_UDP
#undef NETDB_INTERNAL
#undef HOST_NAME_MAX
#undef EPOLL_CLOEXEC
#pragma GCC poison accept4 sendmmsg recvmmsg mmsghdr sendfile sigtimedwait ucred
#pragma GCC poison epoll_create1 epoll_ctl epoll_wait epoll_event
#pragma GCC poison gethostbyname_r gethostbyaddr_r getservbyname_r getservbyport_r
#pragma GCC poison getprotobyname_r
EOF
# twice: every stand-in, then as macOS has it (SO_NOSIGPIPE instead of
# MSG_NOSIGNAL; its value here is macOS's)
masked_compile() {
    local what=$1; shift
for f in $(sources); do
    wrapper="$work/wrap-$(basename "$f")"
    {
        echo '#define PERL_NO_GET_CONTEXT'
        echo '#include "EXTERN.h"'
        echo '#include "perl.h"'
        echo '#include "XSUB.h"'
        for h in sys/types.h sys/socket.h sys/un.h sys/uio.h sys/stat.h netinet/in.h \
                 netinet/tcp.h netinet/udp.h netdb.h arpa/inet.h poll.h signal.h fcntl.h \
                 unistd.h limits.h pthread.h string.h errno.h; do
            echo "#include <$h>"
        done
        echo "#include \"$work/masked.h\""
        echo "#include \"$PWD/$f\""
    } >"$wrapper"
    if ! gcc -fsyntax-only -U__linux__ $ccflags "$@" -I"$work/stubs" -Isrc -I. -I"$core" \
             -DVERSION='"0"' -DXS_VERSION='"0"' "$wrapper" 2>"$work/err"; then
        echo "masked ($what): $f does not compile:"; head -20 "$work/err"; status=1
    fi
done
}
masked_compile 'every stand-in'
echo '#define BSD_HAVE_SO_NOSIGPIPE 1' >>src/bsd-config.h
masked_compile 'SO_NOSIGPIPE' -DSO_NOSIGPIPE=0x1022
[ $status -eq 0 ] && echo "masked: every C file compiles without Linux's and glibc's extras (twice)"

# --------------------------------------------------------------- musl
if command -v musl-gcc >/dev/null; then
    fresh
    perl Makefile.PL CC=musl-gcc >/dev/null
    # perl's headers ask for <crypt.h>, which musl does not ship
    mkdir -p "$work/musl-stubs"
    echo '/* (musl has no crypt.h; perl only declares crypt through it) */' >"$work/musl-stubs/crypt.h"
    musl_status=0
    for f in $(sources); do
        if ! musl-gcc -fsyntax-only $ccflags -Isrc -I. -I"$core" -idirafter "$work/musl-stubs" \
                 -DVERSION='"0"' -DXS_VERSION='"0"' "$f" 2>"$work/err"; then
            echo "musl: $f does not compile:"; head -20 "$work/err"; musl_status=1
        fi
    done
    [ $musl_status -eq 0 ] && echo "musl: every C file compiles against musl's headers"
    [ $musl_status -eq 0 ] || status=1
else
    echo "musl: musl-gcc not installed (Debian: musl-tools)"; status=1
fi
exit $status
