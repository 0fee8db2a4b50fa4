# Sourced by every systemd-mode scenario (busybox sh, run by /scenarios-systemd/run-all
# inside rt-vm.service, systemd being pid 1): the busybox lane's helpers
# (/scenarios/lib.sh: make_bundle, fail, wait_status, state_pid, wait_file; containers
# made with make_bundle are deleted on exit) plus systemd ones.
. /scenarios/lib.sh

# sd_run_detached ID: `rt --systemd-cgroup run -d` the bundle made by make_bundle
sd_run_detached() {
    rt --systemd-cgroup run -d --bundle "$BUNDLES/$1" "$1" </dev/null >/dev/null 2>&1 ||
        fail "rt --systemd-cgroup run -d $1: $(rt --systemd-cgroup run -d --bundle "$BUNDLES/$1" "$1" 2>&1 </dev/null)"
    wait_status "$1" running
}

# set_cgroups_path ID PATH: linux.cgroupsPath of the bundle made by make_bundle
set_cgroups_path() {
    sed -i "s|\"linux\": {|\"linux\": {\"cgroupsPath\": \"$2\",|" "$BUNDLES/$1/config.json"
    grep -qF "\"cgroupsPath\": \"$2\"" "$BUNDLES/$1/config.json" || fail "cannot set cgroupsPath $2"
}

# prop UNIT PROPERTY: a unit property as systemctl show prints it
prop() { systemctl show -p "$2" --value "$1"; }

# unit_gone UNIT DIR: true once systemd has forgotten UNIT and its cgroup DIR is gone
unit_gone() { [ "$(prop "$1" LoadState)" = not-found ] && [ ! -e "$2" ]; }

# unit_state UNIT: "LoadState/ActiveState/SubState", for messages
unit_state() { echo "$(prop "$1" LoadState)/$(prop "$1" ActiveState)/$(prop "$1" SubState)"; }

# check_later MESSAGE: a failure that does not stop the scenario (so that one run reports
# every independent problem); finish, at the end, fails with all of them
_later=""
check_later() { echo "FAIL (continuing): $*"; _later="$_later${_later:+; }$*"; }
finish() { [ -z "$_later" ] || fail "$_later"; }
