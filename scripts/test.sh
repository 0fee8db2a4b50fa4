#!/usr/bin/env bash
# Installs what the test suite needs and runs all of it: formatting and lint checks, unit
# tests (no root needed) and the integration suite (root). Fails if any test fails or if
# no test ran at all.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/common.sh

apt_install busybox-static
ensure_cargo

echo "== cargo fmt --check"
cargo fmt --all -- --check
echo "== cargo clippy"
cargo clippy --all-targets --quiet -- -D warnings

log=$(mktemp)
trap 'rm -f "$log"' EXIT
echo "== cargo test"
cargo test --all-targets 2>&1 </dev/null | tee "$log"
status=${PIPESTATUS[0]}
[ "$status" -eq 0 ] || die "tests failed"

passed=$(grep -E '^test result: ok\.' "$log" | awk '{ n += $4 } END { print n + 0 }')
echo "== $passed tests passed in total"
[ "$passed" -gt 0 ] || die "no test ran: that is a failure"
