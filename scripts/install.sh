#!/usr/bin/env bash
# Installs rt with its man pages (rt(1), rt-COMMAND(1)) and shell completions (bash, zsh,
# fish), in the usual places below PREFIX (default /usr/local); DESTDIR stages them for a
# package. Builds rt (release) first. The pages and completions are the ones in
# man/generated/, which man/'s test keeps current with the command line.
#   scripts/install.sh
#   PREFIX=/usr DESTDIR=/tmp/pkg scripts/install.sh
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/common.sh

apt_install "${BUILD_DEPS[@]}"
ensure_cargo
cargo build --release --quiet -p rt
bin="${CARGO_TARGET_DIR:-target}/x86_64-unknown-linux-gnu/release/rt"
[ -x "$bin" ] || die "no rt binary at $bin"

prefix=${PREFIX:-/usr/local}
root=${DESTDIR:-}$prefix
gen=man/generated
install -D -m 0755 "$bin" "$root/bin/rt"
install -d "$root/share/man/man1"
install -m 0644 "$gen"/man1/*.1 "$root/share/man/man1/"
install -D -m 0644 "$gen/completions/rt.bash" "$root/share/bash-completion/completions/rt"
install -D -m 0644 "$gen/completions/_rt" "$root/share/zsh/site-functions/_rt"
install -D -m 0644 "$gen/completions/rt.fish" "$root/share/fish/vendor_completions.d/rt.fish"
echo "installed $root/bin/rt, $(ls "$gen"/man1/*.1 | wc -l) man pages in $root/share/man/man1 and completions for bash, zsh and fish"
