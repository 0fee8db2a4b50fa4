#!/bin/sh
# pause/resume freeze and thaw the scope (cgroup.freeze), events --stats reads the scope's
# usage (once, and as a stream), ps lists exactly the scope's pids; a paused container can
# be force-deleted.
. /scenarios-systemd/lib.sh

id=sd-life unit=rt-sd-life.scope
dir=$CG/system.slice/$unit
make_bundle $id 'x=$(head -c 8000000 /dev/zero | tr "\0" a); sleep 1000 & i=0; while :; do i=$((i + 1)); echo $i >/dev/shm/n.tmp; mv /dev/shm/n.tmp /dev/shm/n; sleep 0.05; done' \
    '"memory": {"limit": 134217728}, "pids": {"limit": 32}'
sd_run_detached $id
pid=$(state_pid $id)
wait_file /proc/$pid/root/dev/shm/n

rt --systemd-cgroup pause $id || fail "rt --systemd-cgroup pause $id"
wait_status $id paused
[ "$(cat $dir/cgroup.freeze)" = 1 ] || fail "$dir/cgroup.freeze is $(cat $dir/cgroup.freeze) while paused"
a=$(cat /proc/$pid/root/dev/shm/n)
sleep 1
b=$(cat /proc/$pid/root/dev/shm/n)
echo "counter while paused: $a then $b; cgroup.events: $(tr '\n' ' ' <$dir/cgroup.events)"
[ "$a" = "$b" ] || fail "the container kept running while paused ($a -> $b)"
rt --systemd-cgroup resume $id || fail "rt --systemd-cgroup resume $id"
wait_status $id running
[ "$(cat $dir/cgroup.freeze)" = 0 ] || fail "cgroup.freeze is $(cat $dir/cgroup.freeze) after resume"
wait_change /proc/$pid/root/dev/shm/n "$b"
c=$(cat /proc/$pid/root/dev/shm/n)
echo "counter after resume: $c"
[ "$c" -gt "$b" ] || fail "the container did not resume ($b -> $c)"
# paused again for the rest: the loop forks a short-lived sleep every 50 ms, and frozen it
# holds still, so what rt reports can be compared with the scope's files
rt --systemd-cgroup pause $id || fail "second pause"
wait_status $id paused

if stats=$(rt --systemd-cgroup events --stats $id 2>&1); then
    echo "$stats" | cut -c1-300
    usage=$(echo "$stats" | sed -n 's/.*"memory":{[^}]*"usage":{"limit":[0-9]*,"usage":\([0-9]*\).*/\1/p')
    limit=$(echo "$stats" | sed -n 's/.*"memory":{[^}]*"usage":{"limit":\([0-9]*\).*/\1/p')
    pids=$(echo "$stats" | sed -n 's/.*"pids":{"current":\([0-9]*\).*/\1/p')
    echo "memory usage=$usage limit=$limit pids.current=$pids; scope: memory.current=$(cat $dir/memory.current) pids.current=$(cat $dir/pids.current)"
    echo "$stats" | grep -q "^{\"type\":\"stats\",\"id\":\"$id\",\"data\":" || check_later "not a stats event: $stats"
    [ "${usage:-0}" -gt 8000000 ] || check_later "memory usage ${usage:-missing} does not show the 8 MB the shell holds"
    [ "$limit" = 134217728 ] || check_later "memory limit in the stats is ${limit:-missing}, expected 134217728"
    [ "${pids:-0}" -ge 2 ] && [ "$pids" = "$(cat $dir/pids.current)" ] || check_later "pids.current in the stats is ${pids:-missing}, the scope says $(cat $dir/pids.current)"
else
    check_later "rt --systemd-cgroup events --stats $id failed: $stats (the scope's controllers: $(cat $dir/cgroup.controllers))"
fi

# the stream: a stats event every 200 ms, from one process with a steady set of open
# files (each tick must not leave a connection to systemd behind), counted by events
# rather than seconds: a loaded machine runs the guest slowly
rt --systemd-cgroup events --interval 200ms $id >/tmp/stream.out 2>&1 &
watcher=$!
wait_count /tmp/stream.out '"type":"stats"' 2
fds1=$(ls /proc/$watcher/fd 2>/dev/null | wc -l)
wait_count /tmp/stream.out '"type":"stats"' 12
fds2=$(ls /proc/$watcher/fd 2>/dev/null | wc -l)
if kill $watcher 2>/dev/null; then
    wait $watcher
    n=$(grep -c '"type":"stats"' /tmp/stream.out)
    echo "rt events --interval 200ms: $n stats events; open fds after 2: $fds1, after 12: $fds2"
    [ "$fds2" -le $((fds1 + 2)) ] || check_later "rt events --interval 200ms leaks file descriptors: $fds1 open after 2 events, $fds2 after 12"
else
    check_later "rt --systemd-cgroup events --interval 200ms ended while the container runs: $(head -c 300 /tmp/stream.out)"
fi

json=$(rt --systemd-cgroup ps --format json $id) || fail "rt --systemd-cgroup ps --format json $id"
want="[$(sort -n $dir/cgroup.procs | tr '\n' ',' | sed 's/,$//')]"
echo "rt ps: $json, $dir/cgroup.procs: $want"
[ "$want" != "[]" ] || fail "the scope holds no process"
[ "$json" = "$want" ] || fail "rt ps says $json, the scope holds $want"
table=$(rt --systemd-cgroup ps $id) || fail "rt --systemd-cgroup ps $id"
echo "$table"
echo "$table" | grep -q 'sleep 1000' || fail "the ps table lacks the sleep"

rt --systemd-cgroup delete -f $id || fail "rt --systemd-cgroup delete -f of a paused container"
n=0
while ! unit_gone $unit "$dir" && [ $n -lt 50 ]; do n=$((n + 1)); sleep 0.1; done
unit_gone $unit "$dir" || fail "$unit still there 5 s after deleting the paused container: $(unit_state $unit)"
finish
