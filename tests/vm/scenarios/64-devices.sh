#!/bin/sh
# The device cgroup (an eBPF program on cgroup v2) refuses a device the config does not
# allow, whatever path the node has; allowing it makes the same node usable.
. /scenarios/lib.sh

script='echo rt-vm-lane > /root/kmsg && echo opened || echo refused'
make_bundle denied "$script"
mknod "$BUNDLES/denied/rootfs/root/kmsg" c 1 11 || fail "mknod"
out=$(rt run --bundle "$BUNDLES/denied" denied 2>/dev/null) || fail "rt run denied failed"
echo "denied: $out"
[ "$out" = refused ] || fail "a device outside the allow list was opened: $out"

make_bundle allowed "$script" '"devices": [{"allow": false, "access": "rwm"}, {"allow": true, "type": "c", "major": 1, "minor": 11, "access": "w"}]'
# make_bundle appended a second "devices" member after rt spec's empty one: use the last
sed -i 's/"devices": \[\], "devices"/"devices"/' "$BUNDLES/allowed/config.json"
mknod "$BUNDLES/allowed/rootfs/root/kmsg" c 1 11 || fail "mknod"
out=$(rt run --bundle "$BUNDLES/allowed" allowed 2>/dev/null) || fail "rt run allowed failed"
echo "allowed: $out"
[ "$out" = opened ] || fail "an allowed device was refused: $out"
