#!/bin/sh
# linux.cgroupsPath as slice:prefix:name picks the slice and the unit name: the unit is
# prefix-name.scope in the slice's directory (a dash in a slice name is a level; -.slice is
# the root; an empty slice means system.slice).
. /scenarios-systemd/lib.sh

check() { # ID CGROUPSPATH UNIT SLICE DIR
    make_bundle "$1" 'sleep 1000; true'
    set_cgroups_path "$1" "$2"
    sd_run_detached "$1"
    pid=$(state_pid "$1")
    echo "$2: $3 $(unit_state "$3") Slice=$(prop "$3" Slice) ControlGroup=$(prop "$3" ControlGroup)"
    [ "$(prop "$3" ActiveState)" = active ] || fail "$3 is $(unit_state "$3"), expected active"
    [ "$(prop "$3" Slice)" = "$4" ] || fail "$3 is in slice $(prop "$3" Slice), expected $4"
    grep -qx "$pid" "$CG$5/cgroup.procs" 2>/dev/null || fail "pid $pid not in $CG$5/cgroup.procs (it is in $(cat /proc/$pid/cgroup))"
    rt --systemd-cgroup delete -f "$1" || fail "rt --systemd-cgroup delete -f $1"
    n=0
    while ! unit_gone "$3" "$CG$5" && [ $n -lt 50 ]; do n=$((n + 1)); sleep 0.1; done
    unit_gone "$3" "$CG$5" || fail "$3 ($CG$5) still there 5 s after rt delete: $(unit_state "$3")"
}
check c2 machine.slice:test:c2 test-c2.scope machine.slice /machine.slice/test-c2.scope
check c3 rtvm-nested.slice:pfx:c3 pfx-c3.scope rtvm-nested.slice /rtvm.slice/rtvm-nested.slice/pfx-c3.scope
check c4 -.slice:rt:c4 rt-c4.scope -.slice /rt-c4.scope
check c5 :dflt:c5 dflt-c5.scope system.slice /system.slice/dflt-c5.scope
