#!/bin/sh
# memory.limit = swap = 32 MiB: a shell that keeps ~100 MB in a variable is OOM-killed
# (it is the container's init, so rt run exits 128+9) and memory.events counts the kill.
. /scenarios/lib.sh

make_bundle oom 'x=$(head -c 100000000 /dev/zero | tr "\0" a); echo "survived holding ${#x} bytes"' \
    '"memory": {"limit": 33554432, "swap": 33554432}'
rt run --keep --bundle "$BUNDLES/oom" oom
rc=$?
echo "rt run exited $rc"
max=$(cat "$CG/oom/memory.max") || fail "no $CG/oom/memory.max after rt run --keep"
swap=$(cat "$CG/oom/memory.swap.max")
kills=$(cg_key oom memory.events oom_kill)
echo "memory.max=$max memory.swap.max=$swap oom_kill=$kills"
[ "$max" = 33554432 ] || fail "memory.max is $max, expected 33554432"
[ "${kills:-0}" -gt 0 ] || fail "memory.events oom_kill is ${kills:-missing}, expected > 0"
[ "$rc" -eq 137 ] || fail "rt run exited $rc, expected 137 (OOM SIGKILL)"
# runc writes 0 here when swap == limit; the VM has no swap device, so the OOM above
# happens either way: this is the one check that sees whether swap was really forbidden
[ "$swap" = 0 ] || fail "memory.swap.max is $swap, expected 0 (swap = limit: no swap)"
rt delete oom || fail "rt delete oom failed"
[ ! -e "$CG/oom" ] || fail "$CG/oom left behind after rt delete"
