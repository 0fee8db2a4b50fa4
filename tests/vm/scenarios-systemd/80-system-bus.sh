#!/bin/sh
# With a system bus (dbus-daemon, as on most hosts) rt's driver talks to systemd through it
# rather than through /run/systemd/private: the private socket is hidden here, so only the
# bus can work. Runs last: dbus stays up for anything after it.
. /scenarios-systemd/lib.sh

restore() {
    _cleanup
    umount /run/systemd/private 2>/dev/null
}
trap restore EXIT

systemctl start dbus.socket dbus.service || fail "systemctl start dbus.service: $(systemctl status --no-pager --lines=5 dbus.service 2>&1)"
[ -S /run/dbus/system_bus_socket ] || fail "no /run/dbus/system_bus_socket"
# what a connection to the private socket gets from now on: ECONNREFUSED
mount --bind /dev/null /run/systemd/private || fail "cannot hide /run/systemd/private"
# systemctl falls back to the bus too; it answers once systemd has joined the bus
n=0
until v=$(systemctl show -p Version --value 2>&1) && [ -n "$v" ]; do
    n=$((n + 1))
    [ $n -le 100 ] || fail "systemd not reachable over the system bus: $v"
    sleep 0.1
done
echo "systemd $v over the system bus, dbus.service $(prop dbus.service ActiveState)"

id=sd-bus unit=bus-c8.scope
dir=$CG/machine.slice/$unit
make_bundle $id 'sleep 1000; true' '"pids": {"limit": 30}'
set_cgroups_path $id machine.slice:bus:c8
t0=$(cut -d. -f1 /proc/uptime)
sd_run_detached $id
pid=$(state_pid $id)
echo "$unit: $(unit_state $unit), pids.max=$(cat $dir/pids.max) TasksMax=$(prop $unit TasksMax)"
[ "$(prop $unit ActiveState)" = active ] || fail "$unit is $(unit_state $unit)"
grep -qx "$pid" $dir/cgroup.procs || fail "pid $pid not in $dir/cgroup.procs"
[ "$(prop $unit TasksMax)" = 30 ] || fail "TasksMax is $(prop $unit TasksMax), expected 30"
rt --systemd-cgroup update --memory 48m $id || fail "rt --systemd-cgroup update over the bus"
[ "$(prop $unit MemoryMax)" = 50331648 ] || fail "MemoryMax is $(prop $unit MemoryMax) after update, expected 50331648"
rt --systemd-cgroup delete -f $id || fail "rt --systemd-cgroup delete -f over the bus"
n=0
while ! unit_gone $unit "$dir" && [ $n -lt 50 ]; do n=$((n + 1)); sleep 0.1; done
unit_gone $unit "$dir" || fail "$unit still there 5 s after rt delete: $(unit_state $unit)"
echo "run -d + update + delete over the bus took $(($(cut -d. -f1 /proc/uptime) - t0)) s"
