#!/bin/sh
# linux.resources through systemd: the unit's properties (MemoryMax, TasksMax, ...) and the
# scope's cgroup files say the same; rt --systemd-cgroup update changes both.
. /scenarios-systemd/lib.sh

id=sd-res unit=rt-sd-res.scope
dir=$CG/system.slice/$unit
make_bundle $id 'sleep 1000; true' \
    '"memory": {"limit": 67108864, "swap": 67108864}, "pids": {"limit": 50}, "cpu": {"quota": 50000, "period": 100000}'
sd_run_detached $id
pid=$(state_pid $id)
inside=/proc/$pid/root/sys/fs/cgroup
show() {
    echo "$1: memory.max=$(cat $dir/memory.max) memory.swap.max=$(cat $dir/memory.swap.max)" \
        "pids.max=$(cat $dir/pids.max) cpu.max=$(cat $dir/cpu.max) cpu.weight=$(cat $dir/cpu.weight)"
    echo "$1: $(systemctl show -p MemoryMax -p MemorySwapMax -p TasksMax -p CPUQuotaPerSecUSec -p CPUWeight $unit | tr '\n' ' ')"
}
expect() { # FILE VALUE PROPERTY PROPVALUE
    [ "$(cat $dir/$1)" = "$2" ] || fail "$1 is '$(cat $dir/$1)', expected '$2'"
    [ "$(prop $unit $3)" = "$4" ] || fail "$3 is '$(prop $unit $3)', expected '$4'"
}
show created
expect memory.max 67108864 MemoryMax 67108864
expect memory.swap.max 0 MemorySwapMax 0
expect pids.max 50 TasksMax 50
expect cpu.max "50000 100000" CPUQuotaPerSecUSec 500ms
[ "$(cat $inside/memory.max)" = 67108864 ] || fail "the container sees memory.max $(cat $inside/memory.max)"

rt --systemd-cgroup update --memory 32m $id || fail "rt --systemd-cgroup update --memory 32m"
show "update --memory 32m"
expect memory.max 33554432 MemoryMax 33554432
expect pids.max 50 TasksMax 50
[ "$(cat $inside/memory.max)" = 33554432 ] || fail "the container sees memory.max $(cat $inside/memory.max)"

rt --systemd-cgroup update --pids-limit 42 --cpu-quota 20000 --cpu-period 100000 $id || fail "rt update --pids-limit/--cpu-quota"
show "update --pids-limit 42 --cpu-quota 20000"
expect pids.max 42 TasksMax 42
expect cpu.max "20000 100000" CPUQuotaPerSecUSec 200ms
expect memory.max 33554432 MemoryMax 33554432

# changing the weight alone must leave the quota as it is (as with the cgroupfs driver)
rt --systemd-cgroup update --cpu-shares 512 $id || fail "rt update --cpu-shares 512"
show "update --cpu-shares 512"
[ "$(cat $dir/cpu.weight)" != 100 ] || check_later "cpu.weight still 100 after --cpu-shares 512"
[ "$(cat $dir/cpu.max)" = "20000 100000" ] && [ "$(prop $unit CPUQuotaPerSecUSec)" = 200ms ] ||
    check_later "rt update --cpu-shares 512 reset the CPU quota: cpu.max '$(cat $dir/cpu.max)', CPUQuotaPerSecUSec=$(prop $unit CPUQuotaPerSecUSec) (expected '20000 100000', 200ms)"

# the limit holds: 100 MB in a shell variable is OOM-killed at 32 MiB
echo '{"memory": {"limit": 33554432, "swap": 33554432}}' | rt --systemd-cgroup update --resources - $id ||
    fail "rt update --resources -"
expect memory.swap.max 0 MemorySwapMax 0
rt --systemd-cgroup delete -f $id || fail "rt delete -f $id"

make_bundle sd-oom 'x=$(head -c 100000000 /dev/zero | tr "\0" a); echo "survived holding ${#x} bytes"' \
    '"memory": {"limit": 33554432, "swap": 33554432}'
rt --systemd-cgroup run --bundle "$BUNDLES/sd-oom" sd-oom
rc=$?
echo "rt run exited $rc"
[ "$rc" -eq 137 ] || fail "rt --systemd-cgroup run of a 100 MB shell under 32 MiB exited $rc, expected 137 (OOM SIGKILL)"
finish
