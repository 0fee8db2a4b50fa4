#!/bin/sh
# linux.resources.unified and hugepageLimits with the systemd driver: applied (as with the
# cgroupfs driver, tests/vm/scenarios/65-unified.sh and 67-hugetlb.sh) or refused with an
# error naming the field, never silently dropped.
. /scenarios-systemd/lib.sh

make_bundle sd-uni 'cat /sys/fs/cgroup/memory.high /sys/fs/cgroup/pids.max' \
    '"unified": {"memory.high": "52428800", "pids.max": "77"}'
out=$(rt --systemd-cgroup run --bundle "$BUNDLES/sd-uni" sd-uni 2>/tmp/err) || fail "rt run sd-uni: $(cat /tmp/err)"
echo "$out"
[ ! -s /tmp/err ] || check_later "rt --systemd-cgroup run sd-uni printed: $(cat /tmp/err)"
[ "$out" = "52428800
77" ] || check_later "unified memory.high/pids.max not applied: $out"

make_bundle sd-unibad 'true' '"unified": {"nosuch.knob": "1"}'
if out=$(rt --systemd-cgroup run --bundle "$BUNDLES/sd-unibad" sd-unibad 2>&1); then
    check_later "with --systemd-cgroup, an unknown unified key was accepted (and ignored): '$out'"
else
    echo "$out"
    echo "$out" | grep -q 'linux.resources.unified' || check_later "the error does not name linux.resources.unified: $out"
fi

make_bundle sd-huge 'cat /sys/fs/cgroup/hugetlb.2MB.max 2>/dev/null || echo "no hugetlb.2MB.max"' '"hugepageLimits": [{"pageSize": "2MB", "limit": 4194304}]'
out=$(rt --systemd-cgroup run --bundle "$BUNDLES/sd-huge" sd-huge 2>/tmp/err)
rc=$?
echo "hugetlb.2MB.max: $out (exit $rc) $(cat /tmp/err)"
if [ $rc -eq 0 ]; then
    [ "$out" = 4194304 ] || check_later "with --systemd-cgroup, hugepageLimits was dropped: the container's hugetlb.2MB.max is '$out', expected 4194304"
else
    grep -q 'linux.resources.hugepageLimits' /tmp/err || check_later "the error does not name linux.resources.hugepageLimits: $(cat /tmp/err)"
fi
finish
