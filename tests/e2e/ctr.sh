# containerd's own client: `ctr run --runc-binary PATH` (containerd's runc shim driving rt;
# runc's checks use the shim's default, runc). Sourced by tests/e2e/check.

CTR_IMAGE=docker.io/$IMAGE

ct_run() {
    if [ "$R" = rt ]; then
        ctr run --runc-binary "$E2E_RT" "$@"
    else
        ctr run "$@"
    fi
}

cleanup_ctr() {
    ctr tasks kill -s SIGKILL "$N" >/dev/null 2>&1 || true
    for _ in $(seq 50); do
        ctr tasks delete "$N" >/dev/null 2>&1 && break
        ctr tasks ls -q 2>/dev/null | grep -qx "$N" || break
        sleep 0.1
    done
    ctr containers delete "$N" >/dev/null 2>&1 || true
}

check_run() {
    local rc
    ct_run --rm "$CTR_IMAGE" "$N" sh -c 'echo hello; exit 3' >"$W/out-$N" && rc=0 || rc=$?
    expect_eq "exit code" 3 "$rc"
    expect_eq stdout hello "$(tr -d '\r' <"$W/out-$N")"
    rm -f "$W/out-$N"
    expect_eq "env and cwd" "bar /tmp" \
        "$(ct_run --rm --env FOO=bar --cwd /tmp "$CTR_IMAGE" "$N" sh -c 'echo $FOO $(pwd)')"
}

check_exec_kill_metrics() {
    local rc
    ct_run -d "$CTR_IMAGE" "$N" sh -c 'trap "exit 9" USR1; while :; do sleep 0.1; done' >/dev/null
    poll 20 sh -c "ctr tasks ls | grep -q '^$N .*RUNNING'"
    expect_eq "tasks exec" "in-exec sh" \
        "$(ctr tasks exec --exec-id e1 "$N" sh -c 'echo in-exec $(cat /proc/1/comm)' | paste -sd' ')"
    ctr tasks exec --exec-id e2 "$N" sh -c 'exit 5' && rc=0 || rc=$?
    expect_eq "exec exit code" 5 "$rc"
    expect_match "tasks metrics: memory usage" 'memory\.usage_in_bytes|memory.usage.*[1-9]' \
        "$(ctr tasks metrics "$N")"
    ctr tasks kill -s SIGUSR1 "$N"
    poll 20 sh -c "ctr tasks ls | grep -q '^$N .*STOPPED'"
    ctr tasks delete "$N" >/dev/null
    expect_eq "the task is gone after delete" 0 "$(ctr tasks ls -q | grep -cx "$N" || true)"
}
