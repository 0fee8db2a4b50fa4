#!/bin/sh
# An `rt exec` that a `delete -f` overtakes after it has opened the container's namespaces
# answers as runc does and makes nothing of the container's again (rt's exec writes itself
# only into existing cgroups: libcgroups' add_task would make a missing cgroup v2 again).
. /scenarios/lib.sh

# stopped_at PID: waits until the process has stopped itself (state T) at its fault point.
stopped_at() {
    i=0
    while [ $i -lt 500 ]; do
        state=$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null) || fail "rt exec $1 ended before its fault point"
        [ "$state" = T ] && return 0
        i=$((i + 1))
        sleep 0.02
    done
    fail "rt exec $1 did not reach its fault point"
}

for point in 1; do
    id=x-race-$point
    make_bundle $id 'sleep 1000' '"pids": {"limit": 20}'
    rt run -d --bundle "$BUNDLES/$id" $id </dev/null >/dev/null 2>&1 || fail "rt run -d $id"
    wait_status $id running
    _RT_FAULT_STOP_AT=$point rt exec $id true </dev/null >/dev/null 2>/tmp/$id.err &
    pid=$!
    stopped_at $pid
    rt delete -f $id || fail "rt delete -f $id"
    kill -CONT $pid
    wait $pid && fail "rt exec into a deleted container succeeded"
    grep -q "container not running: $id" /tmp/$id.err || fail "rt exec $id said: $(cat /tmp/$id.err)"
    [ ! -e "$CG/$id" ] || fail "$CG/$id made again by rt exec after rt delete -f (point $point)"
done
