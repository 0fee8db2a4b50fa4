#!/bin/sh
# cpu.quota 10000 / period 100000 (10% of a CPU): a 2 s busy loop gets throttled.
. /scenarios/lib.sh

make_bundle cpu 'timeout -s KILL 2 sh -c "while :; do :; done"; exit 0' \
    '"cpu": {"quota": 10000, "period": 100000}'
rt run --keep --bundle "$BUNDLES/cpu" cpu
rc=$?
[ "$rc" -eq 0 ] || fail "rt run exited $rc"
max=$(cat "$CG/cpu/cpu.max") || fail "no $CG/cpu/cpu.max after rt run --keep"
throttled=$(cg_key cpu cpu.stat nr_throttled)
usage=$(cg_key cpu cpu.stat usage_usec)
echo "cpu.max=$max nr_throttled=$throttled usage_usec=$usage"
[ "$max" = "10000 100000" ] || fail "cpu.max is '$max', expected '10000 100000'"
[ "${throttled:-0}" -gt 0 ] || fail "cpu.stat nr_throttled is ${throttled:-missing}, expected > 0"
# unthrottled, 2 s of busy loop would use ~2 s of CPU; at 10% it is ~0.2 s
[ "${usage:-0}" -lt 1000000 ] || fail "usage_usec $usage: the quota did not hold the loop back"
rt delete cpu || fail "rt delete cpu failed"
