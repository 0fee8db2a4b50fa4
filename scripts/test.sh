#!/usr/bin/env bash
# Installs what the test suite needs and runs all of it: formatting and lint checks, unit
# tests (no root needed) and the integration suite (root). Fails if any test fails or if
# no test ran at all.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/common.sh

apt_install busybox-static "${BUILD_DEPS[@]}"
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

# The suite must clean up after itself, also when run twice in a row: no test bundle or
# state left, no cgroup of a test container (IDs are <name>-<pid>-<n>), no registry note.
leftovers=$( { ls -A /tmp/rt-tests 2>/dev/null; ls -A /run/rt.cgroups 2>/dev/null;
    find /sys/fs/cgroup -mindepth 2 -maxdepth 8 -type d -regex '.*/[a-z]+-[0-9]+-[0-9]+' 2>/dev/null; } || true)
[ -z "$leftovers" ] || die "the tests left things behind:
$leftovers"

passed=$(grep -E '^test result: ok\.' "$log" | awk '{ n += $4 } END { print n + 0 }')
echo "== $passed tests passed in total"
[ "$passed" -gt 0 ] || die "no test ran: that is a failure"
