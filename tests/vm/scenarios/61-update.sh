#!/bin/sh
# rt update changes a running container's limits, and the container sees the new values
# in its own cgroup (its cgroup namespace makes it the root of /sys/fs/cgroup).
. /scenarios/lib.sh

make_bundle upd 'sleep 1000; true' '"memory": {"limit": 67108864}, "pids": {"limit": 100}'
run_detached upd
pid=$(state_pid upd)
inside=/proc/$pid/root/sys/fs/cgroup
[ "$(cat $inside/memory.max)" = 67108864 ] || fail "memory.max before update: $(cat $inside/memory.max)"
rt update --memory 32m --pids-limit 42 --cpu-quota 20000 --cpu-period 100000 upd || fail "rt update (flags)"
echo "after flags: memory.max=$(cat $inside/memory.max) pids.max=$(cat $inside/pids.max) cpu.max=$(cat $inside/cpu.max)"
[ "$(cat $inside/memory.max)" = 33554432 ] || fail "memory.max not updated"
[ "$(cat $inside/pids.max)" = 42 ] || fail "pids.max not updated"
[ "$(cat $inside/cpu.max)" = "20000 100000" ] || fail "cpu.max not updated"
# containerd's way: a LinuxResources document on stdin; swap == limit means no swap
echo '{"memory": {"limit": 16777216, "swap": 16777216}}' | rt update --resources - upd || fail "rt update --resources -"
echo "after document: memory.max=$(cat $inside/memory.max) memory.swap.max=$(cat $inside/memory.swap.max)"
[ "$(cat $inside/memory.max)" = 16777216 ] || fail "memory.max not updated from the document"
[ "$(cat $inside/memory.swap.max)" = 0 ] || fail "memory.swap.max is $(cat $inside/memory.swap.max), expected 0"
rt delete -f upd || fail "rt delete -f upd"
