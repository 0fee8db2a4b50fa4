#!/usr/bin/env bash
# Installs what the test suite needs and runs all of it: formatting and lint checks, unit
# tests (no root needed), the integration suite (root, on this host's cgroups), the
# upstream OCI validation suite (runtime-tools/run, compared with runtime-tools/expected),
# real engines driving runc and rt (tests/e2e/run),
# the cgroup v2 VM lane (tests/vm/run: a Debian kernel under qemu) and a short benchmark run
# (bench/run --short) so that the benchmark does not rot. Fails if any test fails or if a
# lane ran no test at all.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/common.sh

apt_install busybox-static uidmap iproute2 criu "${BUILD_DEPS[@]}"
ensure_cargo

echo "== cargo fmt --check"
cargo fmt --all -- --check
echo "== cargo clippy"
cargo clippy --workspace --all-targets --quiet -- -D warnings

log=$(mktemp)
trap 'rm -f "$log"' EXIT
echo "== cargo test"
# The fuzz targets (fuzz/, src/fuzz_targets.rs) run 10 s each here, 2 s by default; the
# concurrency stress (tests/integration/stress.rs) 32 callers for a minute. The tests that
# need root are #[ignore]d for a plain `cargo test` (shown as ignored, never passed unrun):
# --include-ignored runs them here, as root.
RT_FUZZ_SECS=10 RT_STRESS_WORKERS=32 RT_STRESS_SECS=60 cargo test --workspace --all-targets \
    -- --include-ignored 2>&1 </dev/null | tee "$log"
status=${PIPESTATUS[0]}
[ "$status" -eq 0 ] || die "tests failed"

# The suite must clean up after itself, also when run twice in a row: no test bundle or
# state left, no cgroup of a test container (IDs are <name>-<pid>-<n>), no registry note.
leftovers=$( { ls -A /tmp/rt-tests 2>/dev/null; ls -A /run/rt.cgroups 2>/dev/null;
    find /sys/fs/cgroup -mindepth 2 -maxdepth 8 -type d -regex '.*/[a-z]+-[0-9]+-[0-9]+' 2>/dev/null; } || true)
[ -z "$leftovers" ] || die "the tests left things behind:
$leftovers"

# The upstream OCI validation suite (runtime-tools/run: builds it once, compares with
# runtime-tools/expected; it cleans up after itself).
echo "== runtime-tools validation lane (runtime-tools/run)"
rtools_log=$(mktemp)
trap 'rm -f "$log" "$rtools_log"' EXIT
runtime-tools/run 2>&1 </dev/null | tee "$rtools_log"
[ "${PIPESTATUS[0]}" -eq 0 ] || die "the runtime-tools lane failed"

# Real engines (Docker, containerd, podman) driving runc and rt side by side.
echo "== end-to-end lane (tests/e2e/run)"
e2e_log=$(mktemp)
trap 'rm -f "$log" "$rtools_log" "$e2e_log"' EXIT
tests/e2e/run 2>&1 </dev/null | tee "$e2e_log"
[ "${PIPESTATUS[0]}" -eq 0 ] || die "the end-to-end lane failed"

# rt, runc and crun SIGKILLed during `run -d`, then `delete -f`: what each leaves. Fails
# only if rt leaves anything.
echo "== crash comparison (tests/faults/compare)"
apt_install runc crun
cargo build --release --quiet
tests/faults/compare -n 100 </dev/null || die "rt left something behind after being killed (tests/faults/compare)"

# The install step: rt, its man pages and completions where the system looks for them.
echo "== install step (scripts/install.sh, staged)"
stage=$(mktemp -d)
DESTDIR=$stage scripts/install.sh </dev/null || die "scripts/install.sh failed"
for f in bin/rt share/man/man1/rt.1 share/man/man1/rt-checkpoint.1 \
    share/bash-completion/completions/rt share/zsh/site-functions/_rt \
    share/fish/vendor_completions.d/rt.fish; do
    [ -s "$stage/usr/local/$f" ] || die "scripts/install.sh did not install $f"
done
"$stage/usr/local/bin/rt" --version >/dev/null || die "the installed rt does not run"
rm -rf "$stage"

echo "== cgroup v2 VM lane (tests/vm/run)"
vm_log=$(mktemp)
trap 'rm -f "$log" "$rtools_log" "$e2e_log" "$vm_log"' EXIT
tests/vm/run 2>&1 | tee "$vm_log"
[ "${PIPESTATUS[0]}" -eq 0 ] || die "the cgroup v2 VM lane failed"

passed=$(grep -E '^test result: ok\.' "$log" | awk '{ n += $4 } END { print n + 0 }')
vm_passed=$(sed -n 's/^\([0-9]*\) passed, 0 failed$/\1/p' "$vm_log" | tail -n 1)
rtools=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$rtools_log" | tail -n 1)
rtools_passed=${rtools%% *}
e2e=$(grep -E '^[0-9]+ checks: rt passed' "$e2e_log" | tail -n 1)
e2e_passed=$(sed -n 's/^[0-9]* checks: rt passed \([0-9]*\),.*/\1/p' <<<"$e2e")
echo "== $passed cargo tests, ${vm_passed:-0} VM scenarios, ${rtools_passed:-0} runtime-tools validation files and ${e2e_passed:-0} engine checks passed (runtime-tools: ${rtools:-no result}; the rest are listed in runtime-tools/expected; engines: ${e2e:-no result})"
[ "$passed" -gt 0 ] && [ "${vm_passed:-0}" -gt 0 ] && [ "${rtools_passed:-0}" -gt 0 ] &&
    [ "${e2e_passed:-0}" -gt 0 ] || die "a lane ran no test: that is a failure"

# Results go to a temporary directory: bench/results holds the committed full run.
echo "== benchmark smoke run (bench/run --short)"
bench_out=$(mktemp -d)
trap 'rm -f "$log" "$rtools_log" "$e2e_log" "$vm_log"; rm -rf "$bench_out"' EXIT
bench/run --short --out "$bench_out" </dev/null || die "the benchmark smoke run failed (bench/run --short)"
echo "== benchmark smoke run passed"
