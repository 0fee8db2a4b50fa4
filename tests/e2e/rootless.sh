# podman as an ordinary user (the lane's user, setup_rootless in lib.sh): podman runs the
# runtime as uid 0 of the user's namespace, with the user's XDG_RUNTIME_DIR, no --root,
# and configs without a user namespace of their own; on this hybrid host without systemd
# the container has no cgroup. Sourced by tests/e2e/check.

rl() {
    as_user podman --runtime "$R" "$@"
}

# logged TEXT: the container's log has TEXT.
logged() {
    as_user podman logs "$N" | grep -q "$1"
}

cleanup_rootless() {
    rl rm -f -t 0 "$N" >/dev/null 2>&1 || true
}

check_run_and_exit_code() {
    local rc uid
    uid=$(stat -c %u "$W/rootless/home")
    rl run --rm --name "$N" "$IMAGE" sh -c 'echo hello; exit 3' >"$W/out-$N" && rc=0 || rc=$?
    expect_eq "exit code" 3 "$rc"
    expect_eq stdout hello "$(cat "$W/out-$N")"
    rm -f "$W/out-$N"
    expect_eq "root is the user" "0 $uid 1" \
        "$(rl run --rm "$IMAGE" sh -c 'head -n1 /proc/self/uid_map' | tr -s ' ' | sed 's/^ //')"
    expect_eq "env, user, workdir" "bar 1000 /tmp" \
        "$(rl run --rm -e FOO=bar -u 1000 -w /tmp "$IMAGE" sh -c 'echo $FOO $(id -u) $(pwd)')"
    expect_eq "/dev/null" "character special file 1:3 written" \
        "$(rl run --rm "$IMAGE" sh -c 'echo x >/dev/null && echo $(stat -c "%F %t:%T" /dev/null) written')"
}

check_detached_exec_stop() {
    rl run -d --name "$N" "$IMAGE" sh -c 'echo started; trap "exit 42" TERM; while :; do sleep 0.1; done' >/dev/null
    poll 20 logged started
    expect_eq "exec" "in-exec sh 0" "$(rl exec "$N" sh -c 'echo in-exec $(cat /proc/1/comm) $(id -u)')"
    expect_eq "exec -u" 1000 "$(rl exec -u 1000 "$N" id -u)"
    expect_match "top" 'sh -c' "$(rl top "$N")"
    rl stop -t 20 "$N" >/dev/null
    expect_eq "exit code after stop" 42 "$(as_user podman inspect -f '{{.State.ExitCode}}' "$N")"
}

check_keep_id() {
    local uid
    uid=$(stat -c %u "$W/rootless/home")
    expect_eq "--userns keep-id" "$uid" "$(rl run --rm --userns keep-id "$IMAGE" id -u)"
    rl run -d --name "$N" --userns keep-id "$IMAGE" sleep 1000 >/dev/null
    expect_eq "exec in keep-id" "$uid" "$(rl exec "$N" id -u)"
    expect_eq "exec -u 0 in keep-id" 0 "$(rl exec -u 0 "$N" id -u)"
}

check_read_only_ulimit_sysctl() {
    expect_eq "--read-only" "ro tmp-ok" \
        "$(rl run --rm --read-only "$IMAGE" sh -c 'touch /x 2>/dev/null || echo ro; touch /tmp/y && echo tmp-ok' | paste -sd' ')"
    expect_eq "--ulimit" "100 200" \
        "$(rl run --rm --ulimit nofile=100:200 "$IMAGE" sh -c 'echo $(ulimit -n) $(ulimit -Hn)')"
    expect_eq "--sysctl" "0 0" \
        "$(rl run --rm --sysctl 'net.ipv4.ping_group_range=0 0' "$IMAGE" cat /proc/sys/net/ipv4/ping_group_range | tr -s '\t ' ' ')"
}

check_tty() {
    local out
    out=$(script -qec "$(user_prefix) podman --runtime $R run --rm -it $IMAGE sh -c 'tty; sleep 1'" /dev/null | tr -d '\r')
    expect_match "run -it" '/dev/pts/[0-9]+' "$out"
}
