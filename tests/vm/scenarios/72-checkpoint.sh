#!/bin/sh
# rt checkpoint / rt restore through CRIU (Debian's criu, on Debian's kernel): a counter
# checkpointed with --leave-running goes on; pre-dumped, then checkpointed for good on
# top of that, its container is gone; restored from the images (detached), it counts on
# from where it was, in the new container's cgroup, and the restored container answers
# to state, exec, kill and delete; restored in the foreground, rt waits for it, exits
# with its code and deletes it.
. /scenarios/lib.sh

command -v criu >/dev/null || fail "no criu in the guest"
# what this guest lacks for CRIU, for the record (not every check matters here)
criu check 2>&1 | grep -v '^Warn' | sed 's/^/criu check: /'

# /dev/shm: a tmpfs (rt spec's rootfs is read-only), whose content CRIU keeps
make_bundle cr 'i=0; while :; do i=$((i + 1)); echo $i >/dev/shm/count.tmp; mv /dev/shm/count.tmp /dev/shm/count; sleep 0.1; done'
run_detached cr
pid=$(state_pid cr)
count=/proc/$pid/root/dev/shm/count
wait_file "$count"
wait_change "$count" ""

dump_error() { grep -B8 'Error (' "$1" 2>/dev/null | head -n 12; }

rt checkpoint --leave-running --image-path /tmp/img-lr cr ||
    fail "checkpoint --leave-running: $(dump_error /tmp/img-lr/dump.log)"
[ -s /tmp/img-lr/inventory.img ] || fail "no images after checkpoint --leave-running"
wait_status cr running
seen=$(cat "$count")
wait_change "$count" "$seen"

# iterative: a pre-dump of the memory (the container goes on), then the dump on top of it
rt checkpoint --pre-dump --image-path /tmp/img-pre cr ||
    fail "checkpoint --pre-dump: $(dump_error /tmp/img-pre/pre-dump.log)"
wait_status cr running
seen=$(cat "$count")
rt checkpoint --parent-path ../img-pre --image-path /tmp/img cr ||
    fail "checkpoint: $(dump_error /tmp/img/dump.log)"
[ -L /tmp/img/parent ] || fail "no parent link in the images of a dump after a pre-dump"
rt state cr >/dev/null 2>&1 && fail "cr is still there after checkpoint: $(rt state cr)"
kill -0 "$pid" 2>/dev/null && fail "the counter still runs after checkpoint"
[ -d $CG/cr ] && fail "the cgroup of cr is still there after checkpoint"

rt restore -d --image-path /tmp/img --bundle $BUNDLES/cr cr </dev/null >/dev/null 2>&1 ||
    fail "restore: $(dump_error /tmp/img/restore.log)"
wait_status cr running
pid=$(state_pid cr)
count=/proc/$pid/root/dev/shm/count
now=$(cat "$count")
echo "counted to $seen before the checkpoint, $now after the restore"
[ "$now" -ge "$seen" ] || fail "restored counter at $now, it was at $seen"
wait_change "$count" "$now"
grep -qx '0::/cr' /proc/$pid/cgroup || fail "restored process in $(cat /proc/$pid/cgroup), not /cr"
seen=$(rt exec cr cat /dev/shm/count 2>&1) || fail "rt exec in the restored container: $seen"
[ "$seen" -ge "$now" ] || fail "rt exec in the restored container read $seen, less than $now"

rt kill cr KILL || fail "rt kill"
wait_status cr stopped
rt delete cr || fail "rt delete"
[ -d $CG/cr ] && fail "the cgroup of cr is left after delete"
rt restore --image-path /tmp/img --bundle $BUNDLES/cr cr </dev/null >/tmp/fg.out 2>&1 &
fg=$!
wait_status cr running
rt kill cr KILL || fail "rt kill (foreground restore)"
wait $fg
code=$?
[ "$code" = 137 ] || fail "foreground restore exited with $code, not 137: $(cat /tmp/fg.out)"
rt state cr >/dev/null 2>&1 && fail "cr is left after its foreground restore ended"
[ -d $CG/cr ] && fail "the cgroup of cr is left after its foreground restore ended"
echo "checkpoint and restore round trip ok"
