#!/bin/sh
# ps --format json lists exactly the pids in the container's cgroup.
. /scenarios/lib.sh

make_bundle pst 'sleep 1000 & touch /dev/shm/ready; wait'
run_detached pst
wait_file /proc/$(state_pid pst)/root/dev/shm/ready
json=$(rt ps --format json pst) || fail "rt ps --format json"
want="[$(sort -n $CG/pst/cgroup.procs | tr '\n' ',' | sed 's/,$//')]"
echo "rt ps: $json, cgroup.procs: $want"
[ "$json" = "$want" ] || fail "rt ps says $json, the cgroup holds $want"
table=$(rt ps pst) || fail "rt ps (table)"
echo "$table"
echo "$table" | grep -q 'sleep 1000' || fail "the table lacks the sleep"
rt delete -f pst || fail "rt delete -f pst"
