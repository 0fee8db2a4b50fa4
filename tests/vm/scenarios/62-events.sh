#!/bin/sh
# events --stats reports the container's real usage; the event stream reports an OOM kill.
. /scenarios/lib.sh

make_bundle ev 'x=$(head -c 8000000 /dev/zero | tr "\0" a); touch /dev/shm/ready; sleep 1000; true' \
    '"memory": {"limit": 134217728}, "pids": {"limit": 32}'
run_detached ev
wait_file /proc/$(state_pid ev)/root/dev/shm/ready
stats=$(rt events --stats ev) || fail "rt events --stats ev"
echo "$stats" | cut -c1-300
echo "$stats" | grep -q '^{"type":"stats","id":"ev","data":' || fail "not a stats event: $stats"
usage=$(echo "$stats" | sed -n 's/.*"memory":{[^}]*"usage":{"limit":[0-9]*,"usage":\([0-9]*\).*/\1/p')
pids=$(echo "$stats" | sed -n 's/.*"pids":{"current":\([0-9]*\).*/\1/p')
echo "memory usage=$usage pids.current=$pids"
[ "${usage:-0}" -gt 8000000 ] || fail "memory usage ${usage:-missing} does not show the 8 MB the shell holds"
[ "$pids" = 2 ] || fail "pids.current is ${pids:-missing}, expected 2 (sh and sleep)"
rt delete -f ev || fail "rt delete -f ev"

make_bundle evoom 'while [ ! -e /dev/shm/go ]; do sleep 0.05; done; x=$(head -c 100000000 /dev/zero | tr "\0" a)' \
    '"memory": {"limit": 33554432, "swap": 33554432}'
run_detached evoom
pid=$(state_pid evoom)
rt events --interval 200ms evoom >/tmp/events.out 2>&1 &
watcher=$!
# the watcher is at work once it has printed stats
wait_count /tmp/events.out '"type":"stats"' 1
touch /proc/$pid/root/dev/shm/go
# the stream ends by itself once the container has stopped (30 s at most, as the other
# waits here: the OOM kill and the guest both run slowly under TCG on a busy host; a CI
# run once took more than 10 s)
n=0
while kill -0 $watcher 2>/dev/null; do
    n=$((n + 1))
    [ $n -le 300 ] || {
        kill $watcher
        fail "rt events did not end in 30 s; rt state: $(rt state evoom 2>&1 | grep status); in the cgroup: $(cat $CG/evoom/cgroup.procs 2>&1 | tr '\n' ' ')"
    }
    sleep 0.1
done
grep -v '"type":"stats"' /tmp/events.out
grep -q '^{"type":"oom","id":"evoom"}$' /tmp/events.out || fail "no oom event in: $(cut -c1-100 /tmp/events.out)"
rt delete evoom || fail "rt delete evoom"
