#!/usr/bin/env bash
# xt/nothreads.sh - build a perl without threads from Debian's perl
# source package, then build BSDSocket with it and run the whole test
# suite (Debian's own perl is threaded; many CPAN Testers' perls are not).
#
#   xt/nothreads.sh [PERL_PREFIX]
#
# With PERL_PREFIX naming a directory that already holds such a perl
# (bin/perl), that one is used; otherwise the perl is built into
# PERL_PREFIX (default: a temporary directory), which needs
# `apt-get source perl` to work (a deb-src line, and dpkg-dev).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
prefix=${1:-$work/perl}

if [ ! -x "$prefix/bin/perl" ]; then
    mkdir -p "$work/perl-src"
    (cd "$work/perl-src" && apt-get source -qq perl >/dev/null 2>&1) \
        || { echo "nothreads: apt-get source perl failed (no deb-src line? no dpkg-dev?)"; exit 1; }
    src=$(ls -d "$work"/perl-src/perl-*/ | head -1)
    cd "$src"
    # only what the suite needs: no manual pages, the default modules
    ./Configure -des -Uusethreads -Dprefix="$prefix" -Dman1dir=none -Dman3dir=none \
        >"$work/configure.log" 2>&1 || { tail -30 "$work/configure.log"; exit 1; }
    make -j"$(nproc)" >"$work/make.log" 2>&1 || { tail -30 "$work/make.log"; exit 1; }
    make install >"$work/install.log" 2>&1 || { tail -30 "$work/install.log"; exit 1; }
fi
perl="$prefix/bin/perl"
"$perl" -MConfig -e 'exit($Config{useithreads} ? 1 : 0)' \
    || { echo "nothreads: $perl has threads"; exit 1; }

# a copy of the distribution's files, so the tree's own build stays as it is
(cd "$top" && "$perl" -MExtUtils::Manifest=maniread,manicopy -e 'manicopy(maniread(), $ARGV[0])' "$work/dist") >/dev/null
cd "$work/dist"
"$perl" Makefile.PL >/dev/null
make >build.log 2>&1 || { tail -30 build.log; exit 1; }
"$prefix/bin/prove" -b t/
echo "nothreads: the suite passes on a perl without threads ($("$perl" -e 'print $^V'))"
