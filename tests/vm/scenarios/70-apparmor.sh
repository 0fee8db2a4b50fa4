#!/bin/sh
# process.apparmorProfile and exec --apparmor with AppArmor enforcing: the lane's Debian
# kernel enables AppArmor by default (the build hosts' kernels have none, so only here is
# a label really applied). The rt-test profile (tests/vm/apparmor/, compiled on the host)
# allows everything but writing /dev/shm/forbidden (the rootfs is read-only;
# /dev/shm is a tmpfs in rt spec's config).
. /scenarios/lib.sh

[ "$(cat /sys/module/apparmor/parameters/enabled 2>/dev/null)" = Y ] ||
    fail "AppArmor is not enabled in the lane's kernel"
[ -e /sys/kernel/security/apparmor ] || mount -t securityfs securityfs /sys/kernel/security ||
    fail "cannot mount securityfs"
# One write of the whole policy, as the .replace interface requires.
dd if=/apparmor/rt-test.bin of=/sys/kernel/security/apparmor/.replace bs=1M 2>/dev/null ||
    fail "loading the rt-test profile failed"
grep -q '^rt-test ' /sys/kernel/security/apparmor/profiles ||
    fail "rt-test is not loaded: $(cat /sys/kernel/security/apparmor/profiles)"

# set_profile ID PROFILE: add process.apparmorProfile to the bundle's config
set_profile() {
    sed -i "s/\"noNewPrivileges\": true/\"noNewPrivileges\": true, \"apparmorProfile\": \"$2\"/" \
        "$BUNDLES/$1/config.json"
    grep -q "\"apparmorProfile\": \"$2\"" "$BUNDLES/$1/config.json" ||
        fail "could not set apparmorProfile in $1's config.json"
}

script='cat /proc/self/attr/current
touch /dev/shm/allowed && echo allowed=ok
if touch /dev/shm/forbidden 2>/dev/null; then echo forbidden=written; else echo forbidden=denied; fi'
make_bundle aa "$script"
set_profile aa rt-test
out=$(rt run --bundle "$BUNDLES/aa" aa 2>&1) || fail "rt run: $out"
echo "$out"
echo "$out" | grep -qx 'rt-test (enforce)' || fail "the container does not run under rt-test"
echo "$out" | grep -qx 'allowed=ok' || fail "the profile blocked an allowed write"
echo "$out" | grep -qx 'forbidden=denied' || fail "the profile's deny rule was not enforced"

# exec: the container's own (no) profile, or the one --apparmor names
make_bundle aax 'sleep 1000'
run_detached aax
cur=$(rt exec aax cat /proc/self/attr/current 2>&1)
[ "$cur" = unconfined ] || fail "exec without --apparmor runs under '$cur'"
cur=$(rt exec --apparmor rt-test aax cat /proc/self/attr/current 2>&1)
[ "$cur" = "rt-test (enforce)" ] || fail "exec --apparmor rt-test runs under '$cur'"
echo "exec: unconfined by default, '$cur' with --apparmor"
rt delete -f aax >/dev/null || fail "rt delete -f aax"

# a profile the kernel does not know fails create, naming the field, leaving nothing
make_bundle aan 'true'
set_profile aan no-such-profile
out=$(rt run --bundle "$BUNDLES/aan" aan 2>&1) && fail "ran under an unknown profile: $out"
echo "$out"
echo "$out" | grep -q 'process.apparmorProfile: "no-such-profile": no such profile is loaded' ||
    fail "the error does not name the field and the profile"
[ ! -e /run/rt/aan ] || fail "state of the failed container left behind"
