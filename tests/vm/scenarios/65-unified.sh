#!/bin/sh
# linux.resources.unified writes raw cgroup v2 keys; an unknown controller is an error
# naming the field, and nothing is left behind.
. /scenarios/lib.sh

make_bundle uni 'cat /sys/fs/cgroup/memory.high /sys/fs/cgroup/pids.max' \
    '"unified": {"memory.high": "52428800", "pids.max": "77"}'
out=$(rt run --bundle "$BUNDLES/uni" uni 2>&1) || fail "rt run uni: $out"
echo "$out"
[ "$out" = "52428800
77" ] || fail "unified keys not applied: $out"

make_bundle unibad 'true' '"unified": {"nosuch.knob": "1"}'
out=$(rt run --bundle "$BUNDLES/unibad" unibad 2>&1) && fail "an unknown unified key was accepted"
echo "$out"
echo "$out" | grep -q 'linux.resources.unified' || fail "the error does not name linux.resources.unified: $out"
[ ! -e "$CG/unibad" ] || fail "$CG/unibad left behind"
