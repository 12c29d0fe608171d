#!/usr/bin/env bash
# The image tests and the fuzz regression corpus with AddressSanitizer on the
# Swift and C targets and UndefinedBehaviorSanitizer on the C targets
# (CImageIO over libpng/libjpeg, CVectorMath); any report fails the run.
# Swift itself has no UBSan on Linux; its overflow and bounds checks trap.
# A scratch path of its own (.build-asan), so the normal build is untouched.
set -euo pipefail
cd "$(dirname "$0")/.."
# No leak check at exit: the test process's globals (fixtures held in static
# lets, XCTest's own) are reported as leaks; scripts/fuzz.sh checks leaks per input.
export ASAN_OPTIONS=detect_leaks=0:halt_on_error=1
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
swift test --sanitize=address -Xcc -fsanitize=undefined -Xcc -fno-sanitize-recover=undefined \
    --scratch-path .build-asan --filter 'ImagingTests|FuzzRegressionTests'
