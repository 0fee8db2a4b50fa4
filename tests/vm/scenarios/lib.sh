# Sourced by every scenario (busybox sh, run from tests/vm/init inside the VM, as root in
# the root cgroup, so a container ID's cgroup is /sys/fs/cgroup/ID).
# A scenario exits 0 to pass; fail() prints the reason (the last line of output is what
# the VM-RESULT FAIL line shows) and exits 1. Containers made with make_bundle are
# deleted on exit, pass or fail.

BUNDLES=/tmp/bundles
CG=/sys/fs/cgroup
_ids=""

fail() { echo "FAIL: $*"; exit 1; }

# make_bundle ID SCRIPT [RESOURCES]: a bundle at $BUNDLES/ID whose container runs
# `sh /test.sh` (SCRIPT) with hostname ID. RESOURCES is JSON members added to
# linux.resources, e.g. '"pids": {"limit": 10}' (no '|' or '&' in it: sed replacement).
# config.json is `rt spec`'s default with those edits (so it keeps rt's idea of a default
# container: all namespaces incl. cgroup, read-only rootfs, /sys/fs/cgroup mounted ro).
make_bundle() {
    _b=$BUNDLES/$1
    _ids="$_ids $1"
    rm -rf "$_b" && mkdir -p "$_b" || fail "cannot make $_b"
    cp -a /rootfs-template "$_b/rootfs" || fail "cannot copy the rootfs template"
    printf '%s\n' "$2" >"$_b/rootfs/test.sh"
    rt spec --bundle "$_b" || fail "rt spec --bundle $_b failed"
    sed -i -e 's/"terminal": true/"terminal": false/' \
        -e 's|^\( *\)"sh"$|\1"sh", "/test.sh"|' \
        -e "s/\"hostname\": \"[^\"]*\"/\"hostname\": \"$1\"/" \
        -e "s|\"devices\": \[\]|\"devices\": []${3:+, $3}|" "$_b/config.json"
    # fail loudly if rt spec's layout changed under the seds
    grep -q '"terminal": false' "$_b/config.json" &&
        grep -q '"sh", "/test.sh"' "$_b/config.json" &&
        grep -q "\"hostname\": \"$1\"" "$_b/config.json" ||
        fail "editing rt spec's config.json failed: $(cat "$_b/config.json")"
    [ -z "$3" ] || grep -qF "$3" "$_b/config.json" || fail "resources not added: $3"
}

# cg_key ID FILE KEY: the value of KEY in a flat-keyed cgroup file (cpu.stat, memory.events)
cg_key() { awk -v k="$3" '$1 == k { print $2 }' "$CG/$1/$2"; }

# wait_status ID STATUS: poll `rt state` (10 s at most)
wait_status() {
    _n=0
    # no `rt state | grep -q`: rt aborts (SIGABRT) when grep closes the pipe early
    while ! { _st=$(rt state "$1" 2>/dev/null) && echo "$_st" | grep -q "\"status\": *\"$2\""; }; do
        _n=$((_n + 1))
        [ $_n -le 100 ] || fail "$1 not $2 after 10 s: $(rt state "$1" 2>&1)"
        sleep 0.1
    done
}

_cleanup() {
    for _id in $_ids; do
        rt delete -f "$_id" >/dev/null 2>&1
        rm -rf "${BUNDLES:?}/$_id"
    done
}
trap _cleanup EXIT

# state_pid ID: the container's host pid from `rt state`
state_pid() {
    _st=$(rt state "$1") || fail "rt state $1 failed"
    echo "$_st" | sed -n 's/^ *"pid": *\([0-9]*\),*$/\1/p'
}

# wait_change FILE OLD: wait up to 30 s for FILE to hold something other than OLD (a
# loaded machine runs the guest slowly: no fixed sleeps)
wait_change() {
    _n=0
    while [ "$(cat "$1" 2>/dev/null)" = "$2" ]; do
        _n=$((_n + 1))
        [ $_n -le 300 ] || fail "$1 still holds $2 after 30 s"
        sleep 0.1
    done
}

# wait_count FILE PATTERN N: wait up to 30 s for N lines of FILE to match PATTERN
wait_count() {
    _n=0
    while [ "$(grep -c "$2" "$1" 2>/dev/null)" -lt "$3" ]; do
        _n=$((_n + 1))
        [ $_n -le 300 ] || fail "fewer than $3 lines match $2 in $1 after 30 s: $(head -c 300 "$1")"
        sleep 0.1
    done
}

# wait_file PATH: wait up to 10 s for PATH to exist
wait_file() {
    _n=0
    while [ ! -e "$1" ]; do
        _n=$((_n + 1))
        [ $_n -le 100 ] || fail "$1 did not appear within 10 s"
        sleep 0.1
    done
}

# run_detached ID: `rt run -d` the bundle made by make_bundle (the container keeps the
# stdio it is given, so it gets /dev/null rather than a pipe someone waits on)
run_detached() {
    rt run -d --bundle "$BUNDLES/$1" "$1" </dev/null >/dev/null 2>&1 || fail "rt run -d $1"
    wait_status "$1" running
}
