#!/bin/sh
# --systemd-cgroup on a host where systemd is not pid 1 (this guest: busybox init, no
# /run/systemd/system) is an error naming the flag, before anything exists. The systemd
# driver itself is tested by the systemd mode (tests/vm/scenarios-systemd/).
. /scenarios/lib.sh

[ ! -e /run/systemd/system ] || fail "/run/systemd/system exists in the busybox guest"
before=$(find $CG -type d | sort)
make_bundle nosd 'true'
out=$(rt --systemd-cgroup run --bundle "$BUNDLES/nosd" nosd 2>&1 </dev/null) && fail "rt --systemd-cgroup run succeeded without systemd: $out"
echo "$out"
echo "$out" | grep -q -- '--systemd-cgroup' || fail "the error does not name --systemd-cgroup: $out"
[ -z "$(rt list -q)" ] || fail "state left behind: $(rt list -q)"
[ "$(find $CG -type d | sort)" = "$before" ] || fail "cgroups left behind: $(find $CG -type d | sort | grep -vxF "$before")"
