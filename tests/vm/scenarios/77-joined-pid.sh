#!/bin/sh
# A container joining another's pid namespace by path, with a mount namespace and /proc
# of its own. On kernels whose procfs cannot name a pid namespace (no "pidns" option
# before Linux 6.18, as this VM's) rt mounts that /proc only after pivot_root, from the
# init born in the joined namespace: its /proc shows the pod, and the masked paths below
# it are masked.
. /scenarios/lib.sh

make_bundle pod 'exec sleep 1000'
run_detached pod
pid=$(state_pid pod)
[ -n "$pid" ] || fail "no pid for pod"
make_bundle joiner 'cat /proc/1/comm; echo me=$$; stat -c %t:%T /proc/keys; readlink /proc/self/ns/pid'
sed -i "s|\"type\": \"pid\"|\"type\": \"pid\", \"path\": \"/proc/$pid/ns/pid\"|" "$BUNDLES/joiner/config.json"
grep -q "/proc/$pid/ns/pid" "$BUNDLES/joiner/config.json" || fail "pid namespace path not set"
out=$(rt run --bundle "$BUNDLES/joiner" joiner 2>&1) || fail "rt run joiner: $out"
echo "$out"
want="sleep
me=2
1:3
$(readlink /proc/$pid/ns/pid)"
[ "$out" = "$want" ] || fail "expected the pod's /proc with /proc/keys masked, got: $out"
