#!/bin/sh
# cgroupsPath forms the systemd driver cannot use are errors naming linux.cgroupsPath,
# before anything exists: no unit, no cgroup, no state.
. /scenarios-systemd/lib.sh

before=$(find $CG -type d | sort)
check() { # ID CGROUPSPATH UNIT-IT-WOULD-NAME
    make_bundle "$1" 'true'
    set_cgroups_path "$1" "$2"
    out=$(rt --systemd-cgroup run --bundle "$BUNDLES/$1" "$1" 2>&1 </dev/null) && fail "cgroupsPath '$2' was accepted: $out"
    echo "$2: $out"
    echo "$out" | grep -q 'linux.cgroupsPath' || fail "the error for '$2' does not name linux.cgroupsPath: $out"
    [ -z "$3" ] || [ "$(prop "$3" LoadState)" = not-found ] || fail "unit $3 exists: $(unit_state "$3")"
    [ -z "$(rt list -q)" ] || fail "state left behind: $(rt list -q)"
    after=$(find $CG -type d | sort)
    [ "$after" = "$before" ] || fail "cgroups left behind: $(echo "$after" | grep -vxF "$before")"
}
check bad1 not-a-slice:x:y x-y.scope
check bad2 machine.slice:x ""
check bad3 /abs/path ""
check bad4 machine.slice:x:a/b ""
check bad5 machine.slice:x: x-.scope
check bad6 a:b:c:d ""
