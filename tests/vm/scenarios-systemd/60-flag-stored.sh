#!/bin/sh
# The driver is chosen at create time and kept in the container's state: commands given
# without --systemd-cgroup still go through systemd for a container made with it (TasksMax
# shows that update talked to systemd), and --systemd-cgroup does not turn a container made
# with the cgroupfs driver into a systemd one.
. /scenarios-systemd/lib.sh

id=sd-noflag unit=rt-sd-noflag.scope
dir=$CG/system.slice/$unit
make_bundle $id 'sleep 1000 & wait' '"pids": {"limit": 20}'
rt --systemd-cgroup create --bundle "$BUNDLES/$id" $id </dev/null >/dev/null 2>&1 || fail "rt --systemd-cgroup create $id"
wait_status $id created
pid=$(state_pid $id)
echo "created: $unit $(unit_state $unit), pid $pid in $(cat /proc/$pid/cgroup)"
[ "$(prop $unit ActiveState)" = active ] || fail "no active $unit after create: $(unit_state $unit)"
grep -qx "$pid" $dir/cgroup.procs || fail "the created container's init $pid is not in $dir"
rt start $id || fail "rt start $id (no flag)"
wait_status $id running
rt pause $id || fail "rt pause (no flag)"
[ "$(cat $dir/cgroup.freeze)" = 1 ] || fail "rt pause (no flag) did not freeze $dir"
rt resume $id || fail "rt resume (no flag)"
[ "$(cat $dir/cgroup.freeze)" = 0 ] || fail "rt resume (no flag) did not thaw $dir"
rt update --pids-limit 7 $id || fail "rt update (no flag)"
echo "after rt update --pids-limit 7: pids.max=$(cat $dir/pids.max) TasksMax=$(prop $unit TasksMax)"
[ "$(cat $dir/pids.max)" = 7 ] || fail "pids.max is $(cat $dir/pids.max) after rt update (no flag)"
[ "$(prop $unit TasksMax)" = 7 ] || fail "TasksMax is $(prop $unit TasksMax): rt update (no flag) bypassed systemd"
json=$(rt ps --format json $id) || fail "rt ps (no flag)"
want="[$(sort -n $dir/cgroup.procs | tr '\n' ',' | sed 's/,$//')]"
[ "$json" = "$want" ] || fail "rt ps (no flag) says $json, the scope holds $want"
stats=$(rt events --stats $id 2>&1)
echo "$stats" | grep -q '"pids":{"current":2' || check_later "rt events --stats (no flag): $(echo "$stats" | cut -c1-200)"
echo "rt start/pause/resume/update/ps without the flag: fine"
rt kill $id KILL || fail "rt kill (no flag)"
wait_status $id stopped
rt delete $id || fail "rt delete (no flag)"
n=0
while ! unit_gone $unit "$dir" && [ $n -lt 50 ]; do n=$((n + 1)); sleep 0.1; done
unit_gone $unit "$dir" || fail "$unit still there 5 s after rt delete (no flag): $(unit_state $unit)"

# the other way round: a cgroupfs container (absolute path, below the root cgroup)
make_bundle fs-flag 'sleep 1000; true'
set_cgroups_path fs-flag /rtvm-fs/c
rt run -d --bundle "$BUNDLES/fs-flag" fs-flag </dev/null >/dev/null 2>&1 || fail "rt run -d fs-flag (cgroupfs driver): $(rt run -d --bundle "$BUNDLES/fs-flag" fs-flag 2>&1 </dev/null)"
wait_status fs-flag running
pid=$(state_pid fs-flag)
[ "$(cat /proc/$pid/cgroup)" = 0::/rtvm-fs/c ] || fail "the cgroupfs container is in $(cat /proc/$pid/cgroup)"
rt --systemd-cgroup pause fs-flag || fail "rt --systemd-cgroup pause of a cgroupfs container"
[ "$(cat $CG/rtvm-fs/c/cgroup.freeze)" = 1 ] || fail "not frozen"
rt --systemd-cgroup delete -f fs-flag || fail "rt --systemd-cgroup delete -f of a cgroupfs container"
[ ! -e $CG/rtvm-fs ] || fail "$CG/rtvm-fs left behind"
echo "cgroupfs container in /rtvm-fs/c: paused and deleted with --systemd-cgroup, cgroup gone"
finish
