# podman (Debian's, through conmon): `podman --runtime rt` names the runtime registered in
# containers.conf; runc's checks use podman's own runc. Sourced by tests/e2e/check.

pm() {
    podman --runtime "$R" "$@"
}

cleanup_podman() {
    podman rm -f --filter "name=^$N" >/dev/null 2>&1 || podman rm -f "$N" >/dev/null 2>&1 || true
}

check_run_and_exit_code() {
    local rc
    pm run --rm --name "$N" "$IMAGE" sh -c 'echo hello; exit 3' >"$W/out-$N" && rc=0 || rc=$?
    expect_eq "exit code" 3 "$rc"
    expect_eq stdout hello "$(cat "$W/out-$N")"
    rm -f "$W/out-$N"
    expect_eq "env, user, workdir" "bar 1000 /tmp" \
        "$(pm run --rm -e FOO=bar -u 1000 -w /tmp "$IMAGE" sh -c 'echo $FOO $(id -u) $(pwd)')"
}

check_detached_logs_exec_stop() {
    pm run -d --name "$N" "$IMAGE" sh -c 'echo started; trap "exit 42" TERM; while :; do sleep 0.1; done' >/dev/null
    poll 20 sh -c "podman logs $N | grep -q started"
    expect_eq "exec" "in-exec sh" "$(pm exec "$N" sh -c 'echo in-exec $(cat /proc/1/comm)' | paste -sd' ')"
    pm stop -t 20 "$N" >/dev/null
    expect_eq "exit code after stop" 42 "$(podman inspect -f '{{.State.ExitCode}}' "$N")"
}

check_pause_top_stats() {
    pm run -d --name "$N" "$IMAGE" sh -c 'sleep 1000 & sleep 2000' >/dev/null
    poll 20 sh -c "podman top $N | grep -q 'sleep 1000'"
    expect_match "top" 'sleep 2000' "$(pm top "$N")"
    pm pause "$N" >/dev/null
    expect_eq "paused" paused "$(podman inspect -f '{{.State.Status}}' "$N")"
    pm unpause "$N" >/dev/null
    expect_eq "running" running "$(podman inspect -f '{{.State.Status}}' "$N")"
    expect_match "stats: pids" '^2$' "$(pm stats --no-stream --format '{{.PIDs}}' "$N")"
}

check_memory_and_read_only() {
    expect_eq "--memory" 33554432 \
        "$(pm run --rm --memory 32m "$IMAGE" sh -c 'cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/memory.max')"
    expect_eq "--read-only" "ro tmp-ok" \
        "$(pm run --rm --read-only "$IMAGE" sh -c 'touch /x 2>/dev/null || echo ro; touch /tmp/y && echo tmp-ok' | paste -sd' ')"
}

check_tty() {
    local out
    # The process outlives its output a little: conmon 2.1.6 copies a -t container's
    # output only to the attach connections it has accepted, and a container that prints
    # and exits before conmon's loop accepts podman's loses it on the terminal (not in the
    # log). With rt's shorter `start` that is more frequent (README, the end-to-end lane).
    out=$(script -qec "podman --runtime $R run --rm -it $IMAGE sh -c 'tty; sleep 1'" /dev/null | tr -d '\r')
    expect_match "run -it" '/dev/pts/[0-9]+' "$out"
    pm run -d --name "$N" "$IMAGE" sleep 1000 >/dev/null
    out=$(script -qec "podman --runtime $R exec -it $N tty" /dev/null | tr -d '\r')
    expect_match "exec -it" '/dev/pts/[0-9]+' "$out"
}
