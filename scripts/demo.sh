#!/usr/bin/env bash
# Builds rt and runs a real container from a busybox bundle made on the fly, showing that
# it is isolated: its shell is pid 1, it has its own hostname, network and root.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/common.sh

apt_install busybox-static "${BUILD_DEPS[@]}"
ensure_cargo
echo "== building rt"
cargo build --release --quiet
RT=$PWD/target/x86_64-unknown-linux-gnu/release/rt

bundle=$(mktemp -d /tmp/rt-demo.XXXXXX)
trap 'rm -rf "$bundle"' EXIT
mkdir -p "$bundle/rootfs/bin"
cp "$(command -v busybox)" "$bundle/rootfs/bin/busybox"
for applet in $("$bundle/rootfs/bin/busybox" --list); do
    [ "$applet" = busybox ] || ln -s busybox "$bundle/rootfs/bin/$applet"
done
# runc's default config, without a terminal, running a script that shows the isolation.
"$RT" spec --bundle "$bundle"
sed -i -e 's/"terminal": true/"terminal": false/' \
    -e 's/"hostname": "rt"/"hostname": "rt-demo"/' "$bundle/config.json"
cat > "$bundle/rootfs/demo.sh" <<'SCRIPT'
echo "pid:        $$"
echo "hostname:   $(hostname)"
echo "network:    $(ls /sys/class/net)"
echo "root:       $(echo $(ls /))"
echo "processes:"
ps -o pid,user,comm
SCRIPT
sed -i 's/^\( *\)"sh"$/\1"sh", "\/demo.sh"/' "$bundle/config.json"

echo "== rt run $bundle/   (on the host: hostname $(hostname), pid $$)"
"$RT" run "$bundle/"
