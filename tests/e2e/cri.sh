# Kubernetes' path: containerd's CRI plugin with rt as a runtime handler (runtime_type
# io.containerd.runc.v2, BinaryName rt: the README's config.toml text), driven over the
# CRI as the kubelet drives it, through the lane's own client (tests/e2e/cri/cri.py; no
# crictl can be built here). runc's checks use the handler "runc". Pods use the node's
# network (no CNI in the lane). Sourced by tests/e2e/check.

CRI_IMAGE=docker.io/$IMAGE
POD_LOGS=$W/cri-logs/$N

cri() {
    PYTHONPATH=$W/cri /usr/bin/python3 "$e2e/cri/cri.py" "$@"
}

# A pod for runtime $R; its id in POD. $1: pid namespace mode (container or pod). rt's
# pods name the handler the README's RuntimeClass names, as the kubelet would for a pod
# with `runtimeClassName: rt`.
new_pod() {
    local handler=$R
    [ "$R" = runc ] || handler=$(sed -n 's/^handler: *//p' "$e2e/config/runtimeclass.yaml")
    mkdir -p "$POD_LOGS"
    POD=$(cri runp "$N" "$handler" "$POD_LOGS" --pid "$1")
    echo "$POD" >"$W/pod-$N"
}

cleanup_cri() {
    local pod
    pod=$(cat "$W/pod-$N" 2>/dev/null) || return 0
    cri stopp "$pod" >/dev/null 2>&1 || true
    cri rmp "$pod" >/dev/null 2>&1 || true
    rm -rf "$W/pod-$N" "$POD_LOGS"
}

status_of() {
    cri status "$1" | /usr/bin/python3 -c "import json,sys; print(json.load(sys.stdin)['$2'])"
}

check_pod_lifecycle() {
    local c out
    new_pod container
    c=$(cri create "$POD" "$N" "$POD_LOGS" app "$CRI_IMAGE" -- sh -c 'echo hello-from-cri; trap "exit 7" TERM; while :; do sleep 0.1; done')
    cri start "$c"
    poll 20 sh -c "[ \"\$(PYTHONPATH=$W/cri /usr/bin/python3 $e2e/cri/cri.py status $c | grep -o CONTAINER_RUNNING)\" = CONTAINER_RUNNING ]"
    expect_eq "exec -s: env, own pid namespace" "cri sh" "$(cri exec "$c" -- sh -c 'echo $E2E $(cat /proc/1/comm)' | paste -sd' ')"
    cri exec "$c" -- sh -c 'exit 4' && rc=0 || rc=$?
    expect_eq "exec exit code" 4 "$rc"
    poll 20 grep -q hello-from-cri "$POD_LOGS/app.log"
    expect_match "logs (CRI format)" ' stdout F hello-from-cri$' "$(grep hello-from-cri "$POD_LOGS/app.log")"
    out=$(cri stats "$c")
    expect_match "stats: working set" '"working_set_bytes": [1-9]' "$out"
    cri stop "$c" 10
    expect_eq "state after stop" CONTAINER_EXITED "$(status_of "$c" state)"
    expect_eq "exit code after stop (SIGTERM handled)" 7 "$(status_of "$c" exit_code)"
    cri rm "$c"
}

check_shared_pid_namespace() {
    local c
    # Pod style: the container joins the pod's pid namespace (the pause process is pid 1),
    # and its /proc, which rt mounts from inside that namespace, shows the pod.
    new_pod pod
    c=$(cri create "$POD" "$N" "$POD_LOGS" app "$CRI_IMAGE" --pid pod -- sleep 1000)
    cri start "$c"
    expect_eq "pid 1 is the pod's sandbox, the container's sleep beside it" "/bin/sleep 2147483647 yes" \
        "$(cri exec "$c" -- sh -c 'tr "\0" " " < /proc/1/cmdline; echo; grep -l "^sleep$" /proc/[0-9]*/comm | wc -l | sed "s/^[2-9]$/yes/"' | sed 's/ *$//' | paste -sd' ')"
    cri stop "$c" 0
    cri rm "$c"
}

check_memory_limit_and_oom() {
    local c
    new_pod container
    c=$(cri create "$POD" "$N" "$POD_LOGS" app "$CRI_IMAGE" --memory 33554432 -- sleep 1000)
    cri start "$c"
    expect_eq "memory limit inside" 33554432 \
        "$(cri exec "$c" -- sh -c 'cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/memory.max')"
    cri stop "$c" 0
    cri rm "$c"
    c=$(cri create "$POD" "$N" "$POD_LOGS" oom "$CRI_IMAGE" --memory 16777216 -- dd if=/dev/zero of=/dev/null bs=64M count=1)
    cri start "$c"
    poll 30 sh -c "PYTHONPATH=$W/cri /usr/bin/python3 $e2e/cri/cri.py status $c | grep -q CONTAINER_EXITED"
    expect_eq "reason of an OOM kill" OOMKilled "$(status_of "$c" reason)"
    cri rm "$c"
}
