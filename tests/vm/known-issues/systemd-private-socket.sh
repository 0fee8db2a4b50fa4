#!/bin/sh
# KNOWN ISSUE, not run by tests/vm/run: libcgroups 0.7's D-Bus client sends its first
# method call right behind BEGIN, and systemd 252 leaves that call unanswered on its
# private socket until the next socket event, so each exchange waits for libcgroups' 10 s
# timeout (up to 7 retries). Over a system bus (dbus-daemon, as on any normal systemd
# host) there is no stall. To see it: copy this file into tests/vm/scenarios-systemd/ as
# 90-private-socket.sh and run VM_MODE=systemd tests/vm/run.
#
# rt's driver over systemd's private socket /run/systemd/private, as on hosts without a
# system bus (libcgroups falls back to it when /var/run/dbus/system_bus_socket is missing):
# every command works and none stalls. A D-Bus exchange takes well under a second here; one
# that gets no answer is abandoned after 10 s and retried (7 times), so a stall shows as a
# command taking 10 s or more.
. /scenarios-systemd/lib.sh

restore() { # the bus back first: leftover containers are deleted through it
    umount /run/dbus/system_bus_socket 2>/dev/null
    _cleanup
    mount --bind /dev/null /run/systemd/private # as run-all left it
}
trap restore EXIT
umount /run/systemd/private || fail "cannot unhide /run/systemd/private"
mount --bind /dev/null /run/dbus/system_bus_socket || fail "cannot hide the system bus"
[ -S /run/systemd/private ] || fail "/run/systemd/private is not a socket"

now_cs() { read -r up _ </proc/uptime && echo "${up%.*}${up#*.}"; } # centiseconds
# step WHAT RC RT-ARGS...: runs rt RT-ARGS; false (and a check_later) unless it exits RC
# and says nothing about D-Bus within 8 s
step() {
    _what=$1 _want=$2
    shift 2
    _t0=$(now_cs)
    _out=$(rt "$@" 2>&1 </dev/null)
    _rc=$?
    _cs=$(($(now_cs) - _t0))
    echo "$_what: exit $_rc in $((_cs / 100)).$((_cs % 100 / 10)) s${_out:+: $(echo "$_out" | head -n 3)}"
    if [ $_rc -ne "$_want" ]; then
        check_later "rt $* exited $_rc: $(echo "$_out" | tail -n 1)"
        return 1
    fi
    if echo "$_out" | grep -qi dbus; then
        check_later "rt $* reported a D-Bus problem: $(echo "$_out" | grep -i dbus | head -n 1)"
        return 1
    fi
    if [ $_cs -ge 800 ]; then
        check_later "rt $* took $((_cs / 100)) s: a D-Bus exchange with systemd stalled"
        return 1
    fi
}

ok=1
for i in 1 2 3; do
    make_bundle ps$i 'exit 3'
    step "run (exit 3)" 3 --systemd-cgroup run --bundle "$BUNDLES/ps$i" ps$i || { ok=0; break; }
done
if [ $ok = 1 ]; then
    id=ps-life unit=rt-ps-life.scope
    make_bundle $id 'sleep 1000; true' '"pids": {"limit": 20}'
    step "run -d" 0 --systemd-cgroup run -d --bundle "$BUNDLES/$id" $id &&
        step "update" 0 --systemd-cgroup update --pids-limit 9 $id &&
        step "pause" 0 --systemd-cgroup pause $id &&
        step "resume" 0 --systemd-cgroup resume $id &&
        step "ps" 0 --systemd-cgroup ps $id &&
        step "delete -f" 0 --systemd-cgroup delete -f $id
    [ "$(prop $unit LoadState)" = not-found ] || check_later "$unit left behind: $(unit_state $unit)"
fi
finish
