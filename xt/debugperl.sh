#!/usr/bin/env bash
# xt/debugperl.sh - build BSDSocket with -DDEBUGGING and run the whole
# test suite under Debian's debugperl (package perl-debug), a perl built
# with -DDEBUGGING: every assert in perl's headers is live, so an XS
# accessor used on the wrong kind of value (SvPVX of a reference, an
# IV of a string) aborts instead of reading garbage.
#
#   xt/debugperl.sh       (from a checkout; the normal build is left alone)
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
command -v debugperl >/dev/null || { echo "debugperl: not installed (Debian: perl-debug)"; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# a copy of the distribution's files, so the tree's own build stays as it is
(cd "$top" && perl -MExtUtils::Manifest=maniread,manicopy -e 'manicopy(maniread(), $ARGV[0])' "$work/src")
cd "$work/src"

debugperl Makefile.PL >/dev/null
make CCFLAGS="$(debugperl -MConfig -e 'print $Config{ccflags}') -DDEBUGGING" >build.log 2>&1 \
    || { tail -30 build.log; exit 1; }
grep -q -- '-DDEBUGGING' build.log || { echo "debugperl: the build did not use -DDEBUGGING"; exit 1; }

# every test file runs under debugperl (and so do the perls they start:
# $^X is debugperl)
PERL5LIB="$PWD/blib/lib:$PWD/blib/arch${PERL5LIB:+:$PERL5LIB}" prove --exec debugperl t/
echo "debugperl: the suite passes under debugperl with a -DDEBUGGING build"
