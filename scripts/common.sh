# Shared setup for scripts/demo.sh and scripts/test.sh: Debian packages and a Rust toolchain.
# Sourced, not run.

die() { echo "$*" >&2; exit 1; }

[ "$(id -u)" -eq 0 ] || die "run this as root: containers need namespaces, mounts and cgroups"

# apt_install PKG...: installs whatever of PKG is missing (no prompt, no stdin needed).
apt_install() {
    local missing=()
    for p in "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    echo "== installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" </dev/null
}

# Build dependencies: libcgroups' eBPF device filter (cgroup v2) links libbpf, which
# needs libelf and zlib found through pkg-config.
BUILD_DEPS=(gcc libc6-dev pkg-config libelf-dev zlib1g-dev)

# ensure_cargo: rt needs Rust >= 1.85 (edition 2024); Debian's own rustc is older, so the
# toolchain comes from rustup when none is installed.
ensure_cargo() {
    [ -f "$HOME/.cargo/env" ] && . "$HOME/.cargo/env"
    command -v cargo >/dev/null && return 0
    apt_install ca-certificates curl gcc libc6-dev
    echo "== installing a Rust toolchain with rustup"
    curl -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal -c clippy,rustfmt </dev/null
    . "$HOME/.cargo/env"
}
