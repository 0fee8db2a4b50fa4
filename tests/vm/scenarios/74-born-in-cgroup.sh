#!/bin/sh
# cgroup v2: a container's init and its `rt exec` processes are born in the container's
# cgroup (clone3 with CLONE_INTO_CGROUP), never moved there. A move (a write to
# cgroup.procs) waits for an RCU grace period under a global lock; the kernel's
# cgroup:cgroup_attach_task tracepoint fires for every such move and for none of these
# births. So: with the tracepoint on, a container runs and gets an exec, and the trace must
# hold no move into its cgroup, while a move made on purpose into a cgroup of our own
# shows up (the trace works). Inside, both processes see the container's cgroup.
# Under a pids limit of its own an exec process is moved instead (a birth counts against
# pids.max, a move does not): an exec into a container at its limit still works.
. /scenarios/lib.sh

T=/sys/kernel/tracing
ev=$T/events/cgroup/cgroup_attach_task/enable
[ -d $T/events ] || mount -t tracefs nodev $T || fail "cannot mount tracefs at $T"
[ -f $ev ] || fail "no cgroup:cgroup_attach_task tracepoint in $T"
trap 'echo 0 >$ev; rmdir "$CG/attach-probe" 2>/dev/null; _cleanup' EXIT
echo >$T/trace
echo 1 >$ev || fail "cannot enable the cgroup_attach_task tracepoint"

make_bundle born 'cat /proc/self/cgroup >/dev/shm/init-cgroup; sleep 1000' '"memory": {"limit": 67108864}'
run_detached born
inside=$(rt exec born sh -c 'cat /proc/self/cgroup; cat /sys/fs/cgroup/memory.max; cat /dev/shm/init-cgroup') ||
    fail "rt exec born failed: $inside"
echo "inside: $inside"
make_bundle capped 'exec sleep 1000' '"pids": {"limit": 1}'
run_detached capped
rt exec capped true || fail "rt exec into a container at its pids limit (1) failed"

# The control: a move into a cgroup of our own is seen.
mkdir "$CG/attach-probe" || fail "cannot make $CG/attach-probe"
sh -c "echo \$\$ >$CG/attach-probe/cgroup.procs" || fail "cannot move a shell into $CG/attach-probe"
echo 0 >$ev

moves=$(grep -c 'path=/born ' $T/trace)
capped=$(grep -c 'path=/capped ' $T/trace)
probe=$(grep -c 'path=/attach-probe ' $T/trace)
echo "moves into /born: $moves; into /capped: $capped; into /attach-probe (control): $probe"
[ "$probe" -ge 1 ] || fail "the tracepoint saw no move, not even the control's: $(tail -n 3 $T/trace)"
[ "$moves" -eq 0 ] || fail "processes were moved into the container's cgroup: $(grep 'path=/born ' $T/trace | head -n 3)"
[ "$capped" -eq 1 ] || fail "expected the capped container's exec process (only) to be moved: $capped moves"
[ "$(echo "$inside" | grep -cx '0::/')" -eq 2 ] ||
    fail "the exec process and the init should both see their cgroup as /: $inside"
echo "$inside" | grep -qx 67108864 || fail "the container's memory.max is not 67108864: $inside"
pids=$(cat "$CG/born/cgroup.procs" | wc -l)
[ "$pids" -ge 1 ] || fail "no process in $CG/born"
rt delete -f born || fail "rt delete -f born"
[ ! -e "$CG/born" ] || fail "$CG/born left behind"
