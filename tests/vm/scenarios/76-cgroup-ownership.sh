#!/bin/sh
# The runtime spec's "Cgroup ownership": with a user namespace, a cgroup namespace of its
# own and /sys/fs/cgroup mounted read-write, the container's cgroup directory and its
# delegatable files (/sys/kernel/cgroup/delegate) belong to the container's root (host
# uid 100000 here), so that it can make and use sub-cgroups; the limit files stay root's.
# Read-only, nothing changes hands (runc's cgroup_delegation.bats).
. /scenarios/lib.sh

userns() { # ID: a user namespace mapping 0-65535 to 100000-165535
    sed -i -e 's|"namespaces": \[|"namespaces": [{"type": "user"},|' \
        -e 's|"linux": {|"linux": {"uidMappings": [{"containerID": 0, "hostID": 100000, "size": 65536}], "gidMappings": [{"containerID": 0, "hostID": 100000, "size": 65536}],|' \
        "$BUNDLES/$1/config.json"
    grep -q '"type": "user"' "$BUNDLES/$1/config.json" || fail "no user namespace added"
}

make_bundle own-rw 'stat -c "%u" /sys/fs/cgroup; mkdir /sys/fs/cgroup/sub && echo $$ >/sys/fs/cgroup/sub/cgroup.procs && cat /proc/self/cgroup; sleep 1000'
userns own-rw
# the cgroup mount without "ro" (the last option of rt spec's)
sed -i -e '/"destination": "\/sys\/fs\/cgroup"/,/\]/{s/"relatime",$/"relatime"/;/"ro"$/d}' "$BUNDLES/own-rw/config.json"
grep -A 8 '"/sys/fs/cgroup"' "$BUNDLES/own-rw/config.json" | grep -q '"ro"' && fail "cgroup mount still ro"
rt run -d --bundle "$BUNDLES/own-rw" own-rw >/tmp/own-rw.out 2>&1 </dev/null || fail "rt run own-rw: $(cat /tmp/own-rw.out)"
wait_count /tmp/own-rw.out . 2
[ "$(head -n 1 /tmp/own-rw.out)" = 0 ] || fail "inside, /sys/fs/cgroup is not root's: $(cat /tmp/own-rw.out)"
grep -qx '0::/sub' /tmp/own-rw.out || fail "the container could not use a sub-cgroup: $(cat /tmp/own-rw.out)"
[ "$(stat -c %u "$CG/own-rw")" = 100000 ] || fail "$CG/own-rw owned by $(stat -c %u "$CG/own-rw")"
[ "$(stat -c %u "$CG/own-rw/cgroup.procs")" = 100000 ] || fail "cgroup.procs not handed over"
[ "$(stat -c %u "$CG/own-rw/cgroup.subtree_control")" = 100000 ] || fail "cgroup.subtree_control not handed over"
[ "$(stat -c %u "$CG/own-rw/memory.max")" = 0 ] || fail "memory.max handed over: a container could raise its own limit"
[ "$(stat -c %u "$CG/own-rw/pids.max")" = 0 ] || fail "pids.max handed over"
rt delete -f own-rw || fail "rt delete -f own-rw"
[ ! -e "$CG/own-rw" ] || fail "$CG/own-rw left behind"

make_bundle own-ro 'stat -c "%u" /sys/fs/cgroup'
userns own-ro
out=$(rt run --bundle "$BUNDLES/own-ro" own-ro 2>&1) || fail "rt run own-ro: $out"
[ "$out" = 65534 ] || fail "read-only cgroupfs, yet /sys/fs/cgroup is owned by $out inside"
echo ok
