#!/bin/sh
# Relative and absolute linux.cgroupsPath; parents rt created go with the last container
# that used them.
. /scenarios/lib.sh

make_bundle rel1 'sleep 1000; true'
make_bundle rel2 'sleep 1000; true'
sed -i 's|"linux": {|"linux": {"cgroupsPath": "shared-parent/one",|' "$BUNDLES/rel1/config.json"
sed -i 's|"linux": {|"linux": {"cgroupsPath": "shared-parent/two",|' "$BUNDLES/rel2/config.json"
run_detached rel1
run_detached rel2
[ -d "$CG/shared-parent/one" ] && [ -d "$CG/shared-parent/two" ] || fail "relative cgroupsPath not below rt's own cgroup: $(ls $CG)"
rt delete -f rel1 || fail "rt delete -f rel1"
[ -d "$CG/shared-parent" ] || fail "the shared parent went with the first container"
rt delete -f rel2 || fail "rt delete -f rel2"
[ ! -e "$CG/shared-parent" ] || fail "the shared parent outlived its last container"

make_bundle abs 'cat /proc/self/cgroup'
sed -i 's|"linux": {|"linux": {"cgroupsPath": "/abs-test/c",|' "$BUNDLES/abs/config.json"
out=$(rt run --bundle "$BUNDLES/abs" abs 2>&1) || fail "rt run abs: $out"
[ "$out" = "0::/" ] || fail "the cgroup namespace is not rooted at the container: $out"
[ ! -e "$CG/abs-test" ] || fail "$CG/abs-test left behind"
