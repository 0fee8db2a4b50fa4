# Shared by the lanes that run other people's software against rt (runtime-tools/run,
# tests/e2e/run): a cgroup of the lane's own in every hierarchy, and private namespaces in
# which the cgroup hierarchies are mounted afresh, rooted at that cgroup. Whatever the
# software under test does with absolute cgroup paths ("/docker", "/cgrouptest") then
# lands below the lane's cgroup, never at a hierarchy's root, and the cleanup can only
# ever see (and remove) what the lane made. Sourced after scripts/common.sh, not run.

# The cgroup hierarchies mounted here: "MOUNTPOINT TYPE SUPER-OPTIONS" per line.
hierarchies() {
    awk '{ for (i = 7; $i != "-"; i++); t = $(i + 1); if (t == "cgroup" || t == "cgroup2") print $5, t, $(i + 3) }' /proc/self/mountinfo | sort -u
}

# The v1 hierarchy a mount's super options select ("memory", "name=systemd").
selector() {
    tr , '\n' <<<"$1" | grep -vE '^(rw|ro|release_agent=.*|clone_children|noprefix|xattr)$' | paste -sd, -
}

# enter_lane_cgroup NAME: makes NAME below this process's cgroup in every hierarchy and
# moves this process there (before the namespaces are made: their root is where it is).
lane_cgroups=()
enter_lane_cgroup() {
    local name=$1 mp type opts sel path dir f
    while read -r mp type opts; do
        if [ "$type" = cgroup2 ]; then
            path=$(sed -n 's/^0:://p' /proc/self/cgroup)
        else
            sel=$(selector "$opts")
            path=$(awk -F: -v s="$sel" '$2 == s { print $3 }' /proc/self/cgroup)
        fi
        [ -n "$path" ] || continue
        dir=$mp${path%/}/$name
        mkdir "$dir"
        lane_cgroups+=("$dir")
        # A new v1 cpuset starts with no cpus or mems, and nothing can join it then.
        for f in cpuset.cpus cpuset.mems; do
            [ -f "$dir/$f" ] && cat "$(dirname "$dir")/$f" >"$dir/$f"
        done
        echo $$ >"$dir/cgroup.procs"
    done < <(hierarchies)
}

# leave_lane_cgroups: moves this process back and removes the lane's cgroups, with
# whatever the inner part left below them when it was killed before its own cleanup
# (deepest first, killing what is in them: only the lane's processes can be there).
leave_lane_cgroups() {
    local dir d p
    for dir in "${lane_cgroups[@]}"; do
        echo $$ >"$(dirname "$dir")/cgroup.procs" 2>/dev/null || true
        find "$dir" -depth -mindepth 1 -type d 2>/dev/null | while read -r d; do
            for p in $(cat "$d/cgroup.procs" 2>/dev/null); do kill -9 "$p" 2>/dev/null || true; done
            for _ in $(seq 50); do rmdir "$d" 2>/dev/null && break; sleep 0.1; done
        done
        for p in $(cat "$dir/cgroup.procs" 2>/dev/null); do kill -9 "$p" 2>/dev/null || true; done
        for _ in $(seq 50); do rmdir "$dir" 2>/dev/null && break; sleep 0.1; done
        [ ! -d "$dir" ] || echo "$0: could not remove cgroup $dir" >&2
    done
}

# Inside `unshare --mount --cgroup`: fresh mounts of every cgroup hierarchy on a tmpfs over
# /sys/fs/cgroup (the kernel refuses a hierarchy on top of itself); in this cgroup
# namespace their root is the lane's cgroup.
remount_cgroups() {
    local mounted mp type opts
    mounted=$(hierarchies | grep "^/sys/fs/cgroup")
    mount -t tmpfs -o mode=755 none /sys/fs/cgroup
    while read -r mp type opts; do
        [ "$mp" = /sys/fs/cgroup ] || mkdir -p "$mp"
        case $type in
            cgroup2) mount -t cgroup2 none "$mp" ;;
            cgroup) mount -t cgroup -o "$(selector "$opts")" none "$mp" ;;
        esac
    done <<<"$mounted"
}

# list_cgroups FILE: every cgroup directory below the (remounted) hierarchies.
list_cgroups() {
    find /sys/fs/cgroup -mindepth 1 -type d 2>/dev/null | sort >"$1"
}

# remove_new_cgroups BEFORE: removes the cgroups made since list_cgroups wrote BEFORE,
# deepest first, killing what is still in them (only processes the lane started can be
# there: the cgroups are below the lane's own).
remove_new_cgroups() {
    local before=$1 after d p
    after=$(mktemp)
    list_cgroups "$after"
    comm -13 "$before" "$after" | sort -r | while read -r d; do
        for p in $(cat "$d/cgroup.procs" 2>/dev/null); do kill -9 "$p" 2>/dev/null || true; done
        for _ in $(seq 50); do rmdir "$d" 2>/dev/null && break; sleep 0.1; done
        if [ -d "$d" ]; then echo "$0: could not remove cgroup $d" >&2; fi
    done
    rm -f "$after"
}
