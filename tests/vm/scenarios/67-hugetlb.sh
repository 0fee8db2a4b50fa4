#!/bin/sh
# hugepageLimits on cgroup v2: the container sees its hugetlb.<size>.max.
. /scenarios/lib.sh

make_bundle huge 'cat /sys/fs/cgroup/hugetlb.2MB.max' '"hugepageLimits": [{"pageSize": "2MB", "limit": 4194304}]'
out=$(rt run --bundle "$BUNDLES/huge" huge 2>&1) || fail "rt run huge: $out"
echo "hugetlb.2MB.max: $out"
[ "$out" = 4194304 ] || fail "hugetlb.2MB.max is $out, expected 4194304"
