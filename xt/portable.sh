#!/usr/bin/env bash
# xt/portable.sh - build BSDSocket with BSDSOCKET_PORTABLE=1, which uses
# every portable stand-in (src/compat.c) even where the platform has the
# Linux or glibc call, and run the whole test suite against that build.
#
#   xt/portable.sh        (from a checkout; the normal build is left alone)
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# a copy of the distribution's files, so the tree's own build stays as it is
(cd "$top" && perl -MExtUtils::Manifest=maniread,manicopy -e 'manicopy(maniread(), $ARGV[0])' "$work/src")
cd "$work/src"

BSDSOCKET_PORTABLE=1 perl Makefile.PL
make >build.log 2>&1 || { tail -30 build.log; exit 1; }
perl -Mblib -MBSDSocket -e 'my $p = BSDSocket::platform;
    my @native = grep { $p->{$_} && $_ ne "portable" } sort keys %$p;
    die "portable: the build still uses @native\n" if @native || !$p->{portable}'

prove -b t/
echo "portable: the suite passes on a BSDSOCKET_PORTABLE=1 build"
