#!/bin/sh
# pids.limit = 10: a fork loop of 30 background sleeps stops at the limit. The container's
# init counts them with shell builtins only (it cannot fork once the limit is reached).
. /scenarios/lib.sh

script=$(cat <<'CT'
sh -c 'i=0; while [ $i -lt 30 ]; do sleep 60 & i=$((i+1)); done'
n=0
for p in /proc/[0-9]*; do
    read -r c <"$p/comm" 2>/dev/null && [ "$c" = sleep ] && n=$((n + 1))
done
read -r max </sys/fs/cgroup/pids.max
read -r cur </sys/fs/cgroup/pids.current
echo "sleeps=$n pids.max=$max pids.current=$cur (inside)"
CT
)
make_bundle pids "$script" '"pids": {"limit": 10}'
out=$(rt run --keep --bundle "$BUNDLES/pids" pids 2>&1)
rc=$?
echo "$out"
[ "$rc" -eq 0 ] || fail "rt run exited $rc"
max=$(cat "$CG/pids/pids.max") || fail "no $CG/pids/pids.max after rt run --keep"
hits=$(cg_key pids pids.events max)
echo "pids.max=$max pids.events max=$hits"
[ "$max" = 10 ] || fail "pids.max is $max, expected 10"
[ "${hits:-0}" -gt 0 ] || fail "pids.events max is ${hits:-missing}: no fork was refused"
n=$(echo "$out" | sed -n 's/^sleeps=\([0-9]*\) .*/\1/p')
# 10 pids = init sh + the forking sh + at most 8 sleeps
[ -n "$n" ] && [ "$n" -ge 1 ] && [ "$n" -le 8 ] || fail "${n:-no} sleeps started, expected 1..8"
rt delete pids || fail "rt delete pids failed"
