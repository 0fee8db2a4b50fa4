#!/bin/sh
# pause freezes every process of the container (cgroup.freeze), resume thaws them; a
# paused container can be force-deleted.
. /scenarios/lib.sh

make_bundle frz 'i=0; while :; do i=$((i + 1)); echo $i >/dev/shm/n.tmp; mv /dev/shm/n.tmp /dev/shm/n; sleep 0.05; done'
run_detached frz
pid=$(state_pid frz)
wait_file /proc/$pid/root/dev/shm/n
rt pause frz || fail "rt pause frz"
wait_status frz paused
[ "$(cat $CG/frz/cgroup.freeze)" = 1 ] || fail "cgroup.freeze is not 1 while paused"
a=$(cat /proc/$pid/root/dev/shm/n)
# a window in which a running container would count on (only a false pass if slow)
sleep 1
b=$(cat /proc/$pid/root/dev/shm/n)
echo "counter while paused: $a then $b"
[ "$a" = "$b" ] || fail "the container kept running while paused ($a -> $b)"
rt resume frz || fail "rt resume frz"
wait_status frz running
wait_change /proc/$pid/root/dev/shm/n "$b"
c=$(cat /proc/$pid/root/dev/shm/n)
echo "counter after resume: $c"
[ "$c" -gt "$b" ] || fail "the container did not resume ($b -> $c)"
rt pause frz || fail "second rt pause"
rt delete -f frz || fail "rt delete -f of a paused container"
[ ! -e "$CG/frz" ] || fail "$CG/frz left behind"
