#!/usr/bin/env bash
# xt/asan.sh - build BSDSocket with AddressSanitizer and
# UndefinedBehaviorSanitizer and run the whole test suite against that
# build, with a larger fuzz run.  Fails on any sanitizer report.
#
#   xt/asan.sh            (from a checkout; the normal build is left alone)
#
# perl itself is not instrumented, so the ASan runtime is preloaded into
# it.  Leak checking is left to valgrind (xt/valgrind.sh) and
# Test::LeakTrace (t/90-leaks.t): perl does not free everything at exit.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# a copy of the distribution's files, so the tree's own build stays as it is
(cd "$top" && perl -MExtUtils::Manifest=maniread,manicopy -e 'manicopy(maniread(), $ARGV[0])' "$work/src")
cd "$work/src"

san="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-wrapv"
perl Makefile.PL >/dev/null
make OPTIMIZE="-O1 -g $san" \
     LDDLFLAGS="$(perl -MConfig -e 'print $Config{lddlflags}') $san" >build.log 2>&1 \
    || { tail -30 build.log; exit 1; }

mkdir -p "$work/reports"
export BSD_SANITIZER_LOG_DIR="$work/reports"
export LD_PRELOAD="$(gcc -print-file-name=libasan.so)"
export ASAN_OPTIONS="detect_leaks=0:allocator_may_return_null=1:halt_on_error=1:abort_on_error=0:exitcode=86:log_path=$work/reports/asan"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:log_path=$work/reports/ubsan"
export BSD_FUZZ_CALLS="${BSD_FUZZ_CALLS:-200000}"

status=0
prove -b t/ || status=1
unset LD_PRELOAD

# Reports are files under reports/.  A refused huge allocation (recv(2**50)
# dying ENOMEM, as it should) leaves a WARNING there too: not a finding.
for f in "$work"/reports/*; do
    [ -e "$f" ] || continue
    if grep -qE "ERROR: AddressSanitizer|runtime error:|ERROR: LeakSanitizer" "$f"; then
        echo "asan: sanitizer report $f:"
        head -80 "$f"
        status=1
    fi
done
if [ "$status" -eq 0 ]; then
    echo "asan: ASan+UBSan pass clean (fuzz calls: $BSD_FUZZ_CALLS)"
fi
exit "$status"
