#!/usr/bin/env bash
# xt/valgrind.sh - run the whole test suite under valgrind memcheck,
# against the normal build (run `perl Makefile.PL && make` first).
# Fails on any invalid read or write, use of uninitialised memory, or
# memory definitely lost; perl frees everything at exit here
# (PERL_DESTRUCT_LEVEL=2), so what is lost was lost.
#
#   xt/valgrind.sh
#
# Processes the tests exec (python3, socat, a perl -T child) run without
# valgrind; forked children are checked but stay silent (they often leave
# with POSIX::_exit, which frees nothing).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
[ -e blib/arch/auto/BSDSocket/BSDSocket.so ] || { echo "build first: perl Makefile.PL && make"; exit 1; }

logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT
export PERL_DESTRUCT_LEVEL=2
export PERL5LIB="$top/blib/lib:$top/blib/arch${PERL5LIB:+:$PERL5LIB}"
export BSD_TEST_SLOW_TOOL=1     # the stress loops run shorter under valgrind

vg="valgrind -q --tool=memcheck --leak-check=full --show-leak-kinds=definite"
vg="$vg --errors-for-leak-kinds=definite --error-exitcode=99 --child-silent-after-fork=yes"
vg="$vg --suppressions=$top/xt/valgrind.supp --log-file=$logs/%p.log"

# t/81 and t/82 run themselves again under a higher fd limit when the
# soft one is low (raise_nofile in t/lib/BSDTest.pm): that new perl would
# run outside valgrind, so raise the limit here instead
ulimit -Sn 4096 2>/dev/null || true

status=0
prove --exec "$vg $(command -v perl)" t/ || status=1

errors=$(cat "$logs"/*.log 2>/dev/null | grep -cE "^==[0-9]+== (Invalid|Conditional|Use of uninit|Syscall param|Source and destination|Mismatched|[0-9,]+ bytes in [0-9,]+ blocks are definitely lost)" || true)
if [ "$errors" -gt 0 ]; then
    echo "valgrind: $errors report(s):"
    cat "$logs"/*.log | head -150
    status=1
fi
if [ "$status" -eq 0 ]; then
    echo "valgrind: memcheck pass clean (0 errors, 0 bytes definitely lost)"
fi
exit "$status"
