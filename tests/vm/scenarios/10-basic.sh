#!/bin/sh
# rt run in the foreground: the process is pid 1 of its pid namespace, has the configured
# hostname, and sees its own cgroup as "/" (cgroup namespace rooted at /sys/fs/cgroup/ID).
. /scenarios/lib.sh

make_bundle basic 'echo "pid=$$ hostname=$(hostname)"; cat /proc/self/cgroup; exit 3'
out=$(rt run --bundle "$BUNDLES/basic" basic 2>&1)
rc=$?
echo "$out"
[ "$rc" -eq 3 ] || fail "rt run exited $rc, expected the container's exit code 3"
echo "$out" | grep -qx 'pid=1 hostname=basic' || fail "expected 'pid=1 hostname=basic'"
echo "$out" | grep -qx '0::/' || fail "expected /proc/self/cgroup to be '0::/'"
[ ! -e "$CG/basic" ] || fail "$CG/basic left behind after rt run"
