#!/bin/sh
# rt killed at every step of `rt run -d` on cgroup v2 (where the init's cgroup is made
# before the clone, see born-in-cgroup): after a SIGKILL at fault point N and a
# `delete -f`, nothing of the container is left: no cgroup, no state directory, no
# process. The loop ends at the first N that rt runs past (no point left to stop at).
. /scenarios/lib.sh

make_bundle halfway 'exec sleep 1001' '"pids": {"limit": 20}'
n=1
while :; do
    _RT_FAULT_STOP_AT=$n rt run -d --bundle "$BUNDLES/halfway" halfway </dev/null >/dev/null 2>/tmp/halfway.err &
    pid=$!
    stopped=
    i=0
    while [ $i -lt 500 ]; do
        state=$(awk '{ print $3 }' "/proc/$pid/stat" 2>/dev/null) || break
        if [ "$state" = T ]; then
            stopped=1
            break
        fi
        i=$((i + 1))
        sleep 0.02
    done
    if [ -z "$stopped" ]; then
        wait $pid || fail "rt run -d without a fault at point $n failed: $(cat /tmp/halfway.err)"
        rt delete -f halfway || fail "rt delete -f of the running container failed"
        break
    fi
    echo "point $n: $(grep 'fault point' /tmp/halfway.err)"
    kill -KILL $pid
    wait $pid 2>/dev/null
    out=$(rt delete -f halfway 2>&1) || echo "$out" | grep -q 'does not exist' ||
        fail "delete -f after a kill at point $n: $out"
    # The init of a killed rt ends once its channel closes; give it a moment.
    i=0
    while ps | grep -v grep | grep -q 'sleep 1001'; do
        i=$((i + 1))
        [ $i -le 100 ] || fail "a container process is left after a kill at point $n: $(ps | grep 'sleep 1001')"
        sleep 0.1
    done
    [ ! -e "$CG/halfway" ] || fail "the cgroup $CG/halfway is left after a kill at point $n"
    [ ! -e /run/rt/halfway ] || fail "the state directory is left after a kill at point $n"
    n=$((n + 1))
    [ $n -le 60 ] || fail "more than 60 fault points: the loop does not end"
done
echo "killed at each of $((n - 1)) points; nothing left after delete -f"
[ $n -gt 5 ] || fail "only $((n - 1)) fault points were reached: is _RT_FAULT_STOP_AT honoured?"
