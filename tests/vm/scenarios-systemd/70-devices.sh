#!/bin/sh
# The device allow list holds with the systemd driver too (tests/vm/scenarios/64-devices.sh
# for cgroupfs): a device node the config does not allow cannot be opened, whatever path
# it has; allowing it makes the same node usable.
. /scenarios-systemd/lib.sh

script='(echo rt-vm-lane > /root/kmsg) 2>/dev/null && echo opened || echo refused'
make_bundle sd-denied "$script"
mknod "$BUNDLES/sd-denied/rootfs/root/kmsg" c 1 11 || fail "mknod"
out=$(rt --systemd-cgroup run --bundle "$BUNDLES/sd-denied" sd-denied 2>/tmp/err) || fail "rt run sd-denied failed: $(cat /tmp/err)"
echo "denied: $out"
[ ! -s /tmp/err ] || check_later "rt --systemd-cgroup run sd-denied printed: $(cat /tmp/err)"
[ "$out" = refused ] || check_later "with --systemd-cgroup, a device outside the allow list was opened: $out"

make_bundle sd-allowed "$script" '"devices": [{"allow": false, "access": "rwm"}, {"allow": true, "type": "c", "major": 1, "minor": 11, "access": "w"}]'
sed -i 's/"devices": \[\], "devices"/"devices"/' "$BUNDLES/sd-allowed/config.json"
mknod "$BUNDLES/sd-allowed/rootfs/root/kmsg" c 1 11 || fail "mknod"
out=$(rt --systemd-cgroup run --bundle "$BUNDLES/sd-allowed" sd-allowed 2>/tmp/err) || fail "rt run sd-allowed failed: $(cat /tmp/err)"
echo "allowed: $out"
[ ! -s /tmp/err ] || check_later "rt --systemd-cgroup run sd-allowed printed: $(cat /tmp/err)"
[ "$out" = opened ] || check_later "with --systemd-cgroup, an allowed device was refused: $out"
finish
