#!/usr/bin/env bash
# Builds the addon with -fsanitize=address,undefined in a scratch copy and runs the kernel tests on it.
# Usage: npm run test:sanitize -w packages/plugin-backend-native
set -euo pipefail
pkg="$(cd "$(dirname "$0")/.." && pwd)"
root="$(cd "$pkg/../.." && pwd)"
work="$(mktemp -d "${TMPDIR:-/tmp}/kiln-native-asan.XXXXXX")"
trap 'rm -rf "$work"' EXIT
cp -r "$pkg/binding.gyp" "$pkg/native" "$work/"
ln -s "$pkg/node_modules" "$work/node_modules" 2>/dev/null || true
(cd "$work" && NODE_PATH="$root/node_modules" KILN_SANITIZE=1 npx --prefix "$root" node-gyp rebuild -j 2 >"$work/build.log" 2>&1) || { cat "$work/build.log"; exit 1; }
asan="$(g++ -print-file-name=libasan.so)"
ubsan="$(g++ -print-file-name=libubsan.so)"
echo "sanitized addon: $work/build/Release/kiln_native.node (LD_PRELOAD $asan)"
cd "$root"
# Node's own allocations are not ours to report: leak checking off; any ASan/UBSan error aborts the run.
KILN_NATIVE_BINARY="$work/build/Release/kiln_native.node" \
LD_PRELOAD="$asan:$ubsan" \
ASAN_OPTIONS="detect_leaks=0:abort_on_error=1:halt_on_error=1" \
UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1" \
KILN_NATIVE_EXPECT_SANITIZED=1 \
  npx jest --runInBand packages/plugin-backend-native/test "$@"
