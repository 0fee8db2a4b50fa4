#!/bin/sh
# The upstream runtime-tools validation files that need what the build hosts lack
# (AppArmor), run here against rt: runtime-tools/run --vm-files builds them static into
# /rtools with runtimetest and the suite's rootfs tarball. A file passes when it exits 0
# with a plan whose every check is ok, as in the lane on the host.
. /scenarios/lib.sh

[ -e /sys/kernel/security/apparmor ] || mount -t securityfs securityfs /sys/kernel/security ||
    fail "cannot mount securityfs"
dd if=/apparmor/acme_secure_profile.bin of=/sys/kernel/security/apparmor/.replace bs=1M 2>/dev/null ||
    fail "loading acme_secure_profile failed"
ls /rtools/*.t >/dev/null 2>&1 || fail "no validation files in /rtools"
mkdir -p /tmp/rtools-tmp || fail "cannot make /tmp/rtools-tmp"
cd /rtools || fail "no /rtools"
for t in *.t; do
    out=$(TMPDIR=/tmp/rtools-tmp RUNTIME=/bin/rt timeout 120 "./$t" 2>&1)
    rc=$?
    echo "$out" | grep -E '^(ok|not ok|1\.\.)'
    [ $rc -eq 0 ] || fail "$t exited $rc: $(echo "$out" | tail -n 3 | tr '\n' ' ')"
    plan=$(echo "$out" | sed -n 's/^1\.\.\([0-9]*\).*/\1/p' | head -n 1)
    oks=$(echo "$out" | grep -c '^ok ')
    [ -n "$plan" ] && [ "$plan" -gt 0 ] || fail "$t printed no plan: $(echo "$out" | tail -n 3 | tr '\n' ' ')"
    [ "$oks" -eq "$plan" ] || fail "$t: $oks of $plan checks ok: $(echo "$out" | grep -A3 '^not ok' | head -n 4 | tr '\n' ' ')"
    echo "$t: $oks/$plan ok"
done
rm -rf /tmp/rtools-tmp
