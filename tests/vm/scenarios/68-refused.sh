#!/bin/sh
# Settings cgroup v2 has no place for are errors naming the field, before anything exists.
. /scenarios/lib.sh

check() { # ID RESOURCES FIELD
    make_bundle "$1" 'true' "$2"
    out=$(rt run --bundle "$BUNDLES/$1" "$1" 2>&1) && fail "$3 was accepted on cgroup v2"
    echo "$out"
    echo "$out" | grep -q "^rt: $3" || fail "the error does not name $3: $out"
    [ ! -e "$CG/$1" ] || fail "$CG/$1 left behind"
    [ -z "$(rt list -q)" ] || fail "state left behind: $(rt list -q)"
}
check swappiness '"memory": {"limit": 33554432, "swappiness": 10}' linux.resources.memory.swappiness
check rtcpu '"cpu": {"realtimeRuntime": 1000, "realtimePeriod": 100000}' linux.resources.cpu.realtimeRuntime
check netcls '"network": {"classID": 1048577}' linux.resources.network
check nooom '"memory": {"disableOOMKiller": true}' linux.resources.memory.disableOOMKiller
