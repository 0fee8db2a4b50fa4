#!/bin/sh
# cpu.quota 10000 / period 100000 (10% of a CPU): a 2 s busy loop gets throttled.
. /scenarios/lib.sh

make_bundle cpu 'timeout -s KILL 2 sh -c "while :; do :; done"; exit 0' \
    '"cpu": {"quota": 10000, "period": 100000}'
uptime_cs() { read -r up _ </proc/uptime && echo "${up%.*}${up#*.}"; } # centiseconds
t0=$(uptime_cs)
rt run --keep --bundle "$BUNDLES/cpu" cpu
rc=$?
wall_usec=$((($(uptime_cs) - t0) * 10000))
[ "$rc" -eq 0 ] || fail "rt run exited $rc"
max=$(cat "$CG/cpu/cpu.max") || fail "no $CG/cpu/cpu.max after rt run --keep"
throttled=$(cg_key cpu cpu.stat nr_throttled)
usage=$(cg_key cpu cpu.stat usage_usec)
echo "cpu.max=$max nr_throttled=$throttled usage_usec=$usage (rt run took ${wall_usec}us)"
[ "$max" = "10000 100000" ] || fail "cpu.max is '$max', expected '10000 100000'"
[ "${throttled:-0}" -gt 0 ] || fail "cpu.stat nr_throttled is ${throttled:-missing}, expected > 0"
# Unthrottled, the loop would use the CPU for most of rt run's wall time; at 10% it gets
# little more than a tenth (TCG's slowness stretches both alike).
[ "${usage:-0}" -lt $((wall_usec / 2)) ] ||
    fail "usage_usec $usage in ${wall_usec}us: the quota did not hold the loop back"
rt delete cpu || fail "rt delete cpu failed"
