#!/bin/sh
# rt --systemd-cgroup with the default cgroupsPath (system.slice:rt:<id>): the container
# runs in the transient unit rt-<id>.scope below system.slice, sees its own cgroup as "/"
# (cgroup namespace) and, once deleted, leaves neither the unit nor its directory.
. /scenarios-systemd/lib.sh

id=sd-scope unit=rt-sd-scope.scope
dir=$CG/system.slice/$unit
make_bundle $id 'cat /proc/self/cgroup >/dev/shm/cg; touch /dev/shm/ready; sleep 1000; true'
sd_run_detached $id
pid=$(state_pid $id)
wait_file /proc/$pid/root/dev/shm/ready
systemctl status --no-pager --lines=0 $unit || fail "systemctl status $unit exited $?"
state=$(unit_state $unit)
echo "$unit: $state, Slice=$(prop $unit Slice), ControlGroup=$(prop $unit ControlGroup)," \
    "Delegate=$(prop $unit Delegate), MainPID/pid: $(prop $unit MainPID)/$pid"
[ "$state" = loaded/active/running ] || fail "$unit is $state, expected loaded/active/running"
[ "$(prop $unit Slice)" = system.slice ] || fail "$unit is in slice $(prop $unit Slice)"
[ "$(prop $unit ControlGroup)" = /system.slice/$unit ] || fail "ControlGroup is $(prop $unit ControlGroup)"
[ -d "$dir" ] || fail "no $dir"
echo "$dir/cgroup.procs: $(cat "$dir/cgroup.procs" | tr '\n' ' ')"
grep -qx "$pid" "$dir/cgroup.procs" || fail "pid $pid is not in $dir/cgroup.procs"
[ "$(cat /proc/$pid/cgroup)" = "0::/system.slice/$unit" ] || fail "host view of the pid's cgroup: $(cat /proc/$pid/cgroup)"
inside=$(cat /proc/$pid/root/dev/shm/cg)
echo "inside: $inside"
[ "$inside" = "0::/" ] || fail "the container sees its cgroup as '$inside', expected 0::/"
# the driver choice is in the state, for the commands that come later
grep -q '"systemd": *true' /run/rt/$id/state.json || fail "state.json does not record the systemd driver: $(cat /run/rt/$id/state.json)"

rt --systemd-cgroup delete -f $id || fail "rt --systemd-cgroup delete -f $id"
if ! unit_gone $unit "$dir"; then
    was="$(unit_state $unit), directory $([ -e "$dir" ] && echo present || echo gone)"
    n=0
    while ! unit_gone $unit "$dir" && [ $n -lt 100 ]; do n=$((n + 1)); sleep 0.1; done
    fail "right after rt delete returned, $unit was $was (all gone $((n * 100)) ms later: $(unit_gone $unit "$dir" && echo yes || echo no))"
fi
[ -z "$(rt list -q)" ] || fail "state left behind: $(rt list -q)"

# the foreground form: exit code passed through, cgroup namespace, nothing left
make_bundle sd-fg 'cat /proc/self/cgroup; exit 3'
out=$(rt --systemd-cgroup run --bundle "$BUNDLES/sd-fg" sd-fg 2>/tmp/err)
rc=$?
echo "foreground: $out (exit $rc)"
[ ! -s /tmp/err ] || check_later "rt --systemd-cgroup run printed: $(cat /tmp/err)"
[ "$rc" -eq 3 ] || fail "rt --systemd-cgroup run exited $rc, expected the container's exit code 3"
[ "$out" = "0::/" ] || fail "the foreground container printed '$out', expected 0::/"
unit_gone rt-sd-fg.scope "$CG/system.slice/rt-sd-fg.scope" ||
    fail "rt-sd-fg.scope left behind after rt run: $(unit_state rt-sd-fg.scope)"
finish
