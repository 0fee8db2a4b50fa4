# Docker's checks (Debian's docker.io): what users of `docker run` do, seen from inside the
# container. rt is dockerd's --default-runtime here, so rt's checks pass no --runtime (the
# way most users will meet it) and runc's pass --runtime runc. Sourced by tests/e2e/check.

runtime_flag() {
    [ "$R" = rt ] || echo "--runtime=$R"
}

dk_run() {
    docker run $(runtime_flag) "$@"
}

cleanup_docker() {
    local ids
    ids=$(docker ps -aq --filter "name=^$N") || true
    [ -z "$ids" ] || docker rm -f $ids >/dev/null 2>&1 || true
    umount -l "$W/prop-$N/sub" "$W/prop-$N" 2>/dev/null || true
    rm -rf "$W/vol-$N" "$W/cp-$N" "$W/prop-$N"
}

state() {
    docker inspect -f "{{$1}}" "$N"
}

# Reads the container's cgroup limits from inside: memory, cpu quota, pids (v1 or v2).
CGROUP_LIMITS='if [ -f /sys/fs/cgroup/cgroup.controllers ]; then
  cat /sys/fs/cgroup/memory.max; cut -d" " -f1 /sys/fs/cgroup/cpu.max; cat /sys/fs/cgroup/pids.max
else
  cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/cpu/cpu.cfs_quota_us /sys/fs/cgroup/pids/pids.max
fi'

check_run_exit_codes() {
    local rc
    dk_run --rm --name "$N" "$IMAGE" sh -c 'exit 3' && rc=0 || rc=$?
    expect_eq "exit code" 3 "$rc"
    dk_run --rm "$IMAGE" /no/such/program && rc=0 || rc=$?
    expect_eq "exit code of a missing program" 127 "$rc"
    dk_run --rm "$IMAGE" /etc/passwd && rc=0 || rc=$?
    expect_eq "exit code of a program that cannot run" 126 "$rc"
    expect_eq stdout hello "$(dk_run --rm "$IMAGE" echo hello)"
}

check_env_user_workdir() {
    expect_eq "env, user, group, workdir" "bar 1000 1000 /work" \
        "$(dk_run --rm -e FOO=bar -u 1000:1000 -w /work "$IMAGE" sh -c 'echo $FOO $(id -u) $(id -g) $(pwd)')"
    expect_eq "user by name" "65534" "$(dk_run --rm -u nobody "$IMAGE" id -u)"
}

check_detached_and_logs() {
    dk_run -d --name "$N" "$IMAGE" sh -c 'echo to-stdout; echo to-stderr >&2; sleep 1000' >/dev/null
    poll 20 sh -c "docker logs $N 2>&1 | grep -q to-stderr"
    expect_eq stdout to-stdout "$(docker logs "$N" 2>/dev/null)"
    expect_eq stderr to-stderr "$(docker logs "$N" 2>&1 >/dev/null)"
    expect_eq running true "$(state .State.Running)"
}

check_exec() {
    local rc
    dk_run -d --name "$N" "$IMAGE" sleep 1000 >/dev/null
    expect_eq "exec with env, user, workdir, in the container's pid namespace" "1 65534 /tmp sleep" \
        "$(docker exec -e X=1 -u 65534 -w /tmp "$N" sh -c 'echo $X $(id -u) $(pwd) $(cat /proc/1/comm)')"
    docker exec "$N" sh -c 'exit 7' && rc=0 || rc=$?
    expect_eq "exec exit code" 7 "$rc"
    docker exec -d "$N" sh -c 'echo bg > /tmp/bg'
    poll 10 docker exec "$N" test -f /tmp/bg
}

check_tty() {
    local out
    dk_run -d --name "$N" "$IMAGE" sleep 1000 >/dev/null
    out=$(script -qec "docker exec -it $N tty" /dev/null | tr -d '\r')
    expect_match "exec -it" '/dev/pts/[0-9]+' "$out"
    out=$(script -qec "docker run $(runtime_flag) --rm -it $IMAGE sh -c 'tty; read line; echo got-\$line'" /dev/null <<<"abc" | tr -d '\r')
    expect_match "run -it" '/dev/pts/[0-9]+' "$out"
    expect_match "run -it reads its input" 'got-abc' "$out"
}

check_stop_and_signals() {
    dk_run -d --name "$N" "$IMAGE" sh -c 'trap "echo got-usr1" USR1; trap "echo got-term; exit 42" TERM; echo ready; while :; do sleep 0.1; done' >/dev/null
    poll 20 sh -c "docker logs $N | grep -q ready"
    docker kill -s USR1 "$N" >/dev/null
    poll 20 sh -c "docker logs $N | grep -q got-usr1"
    docker stop -t 20 "$N" >/dev/null
    expect_eq "exit code after stop (SIGTERM handled)" 42 "$(state .State.ExitCode)"
    docker rm "$N" >/dev/null
    dk_run -d --name "$N" "$IMAGE" sleep 1000 >/dev/null
    docker kill "$N" >/dev/null
    poll 20 sh -c "[ \$(docker inspect -f '{{.State.Running}}' $N) = false ]"
    expect_eq "exit code after kill" 137 "$(state .State.ExitCode)"
    docker start "$N" >/dev/null
    expect_eq "running again after start" true "$(state .State.Running)"
}

check_restart_policy() {
    dk_run -d --name "$N" --restart on-failure:2 "$IMAGE" sh -c 'exit 1' >/dev/null
    poll 60 sh -c "[ \$(docker inspect -f '{{.RestartCount}}/{{.State.Running}}' $N) = 2/false ]"
    expect_eq "exit code" 1 "$(state .State.ExitCode)"
}

check_pause_unpause() {
    local pid a b
    dk_run -d --name "$N" "$IMAGE" sh -c 'while :; do date +%s%N > /tmp/tick; sleep 0.05; done' >/dev/null
    poll 10 docker exec "$N" test -s /tmp/tick
    docker pause "$N" >/dev/null
    expect_eq paused true "$(state .State.Paused)"
    pid=$(state .State.Pid)
    a=$(cat "/proc/$pid/root/tmp/tick")
    sleep 0.5
    b=$(cat "/proc/$pid/root/tmp/tick")
    expect_eq "nothing runs while paused" "$a" "$b"
    docker unpause "$N" >/dev/null
    poll 10 sh -c "[ \"\$(cat /proc/$pid/root/tmp/tick)\" != '$b' ]"
    expect_eq paused false "$(state .State.Paused)"
}

check_top() {
    dk_run -d --name "$N" "$IMAGE" sh -c 'sleep 1000 & sleep 2000' >/dev/null
    poll 10 sh -c "docker top $N | grep -q 'sleep 1000'"
    expect_match top 'sleep 2000' "$(docker top "$N")"
}

check_stats() {
    local s
    # The shell keeps 8 MB in a variable and waits (a builtin: it stays, with its child).
    dk_run -d --name "$N" "$IMAGE" sh -c 'x=$(head -c 8000000 /dev/zero | tr "\0" a); sleep 1000 & wait' >/dev/null
    poll 20 sh -c "docker top $N | grep -q 'sleep 1000'"
    s=$(docker stats --no-stream --format '{{.MemUsage}}|{{.PIDs}}' "$N")
    expect_match "memory usage is real (MiB, not 0B)" '^[0-9.]+MiB / ' "$s"
    expect_match "pids" '\|2$' "$s"
}

check_update() {
    dk_run -d --name "$N" -m 256m --memory-swap 512m "$IMAGE" sleep 1000 >/dev/null
    docker update --memory 64m --memory-swap 128m --cpus 0.5 --pids-limit 50 "$N" >/dev/null
    expect_eq "limits seen inside after update" "67108864 50000 50" \
        "$(docker exec "$N" sh -c "$CGROUP_LIMITS" | paste -sd' ')"
    docker update --cpu-shares 512 "$N" >/dev/null
    expect_eq "quota kept by an update of shares" "67108864 50000 50" \
        "$(docker exec "$N" sh -c "$CGROUP_LIMITS" | paste -sd' ')"
}

check_resource_limits() {
    expect_eq "memory, cpus, pids limits inside" "33554432 50000 20" \
        "$(dk_run --rm -m 32m --memory-swap 64m --cpus 0.5 --pids-limit 20 "$IMAGE" sh -c "$CGROUP_LIMITS" | paste -sd' ')"
    # --memory-swap is memory plus swap: memsw on v1 (with swap accounting), swap.max on v2.
    expect_match "--memory-swap inside" '^(67108864|33554432)$' \
        "$(dk_run --rm -m 32m --memory-swap 64m "$IMAGE" sh -c 'cat /sys/fs/cgroup/memory/memory.memsw.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/memory.swap.max 2>/dev/null || echo none')"
    # The pids limit holds: 30 more processes cannot all start.
    expect_match "forks beyond --pids-limit fail" 'fork|resource' \
        "$(dk_run --rm --pids-limit 10 "$IMAGE" sh -c 'for i in $(seq 30); do sleep 5 & done; wait' 2>&1)"
}

check_read_only_tmpfs_bind() {
    mkdir -p "$W/vol-$N"
    echo from-host >"$W/vol-$N/f"
    expect_eq "read-only root, writable tmpfs, read-only bind" "scratch-ok from-host" \
        "$(dk_run --rm --read-only --tmpfs /scratch:size=1m -v "$W/vol-$N:/data:ro" "$IMAGE" \
            sh -c 'touch /x 2>/dev/null && echo root-writable; touch /scratch/y && echo scratch-ok; touch /data/z 2>/dev/null && echo bind-writable; cat /data/f' | paste -sd' ')"
    dk_run --rm -v "$W/vol-$N:/data" "$IMAGE" sh -c 'echo from-container > /data/g'
    expect_eq "a read-write bind writes the host's file" from-container "$(cat "$W/vol-$N/g")"
}

# A volume with rslave propagation, for which Docker asks for rootfsPropagation "rslave"
# (containerd's CRI does the same for a pod volume with HostToContainer propagation): a
# mount made on the host under the volume after the start reaches the container. Docker
# wants the volume's source on a shared or slave mount, hence the shared bind.
check_volume_propagation() {
    local v=$W/prop-$N
    mkdir -p "$v" && mount --bind "$v" "$v" && mount --make-shared "$v"
    dk_run -d --name "$N" -v "$v:/data:rslave" "$IMAGE" \
        sh -c 'until [ -e /data/sub/mark ]; do sleep 0.1; done; echo seen; sleep 1000' >/dev/null
    mkdir -p "$v/sub" && mount -t tmpfs tmpfs "$v/sub" && touch "$v/sub/mark"
    poll 20 sh -c "docker logs $N 2>&1 | grep -q seen"
    expect_eq "a host mount under an rslave volume reaches the container" seen "$(docker logs "$N" 2>&1)"
}

check_capabilities() {
    expect_eq "--cap-drop ALL --cap-add CHOWN,NET_ADMIN" "0000000000001001" \
        "$(dk_run --rm --cap-drop ALL --cap-add CHOWN --cap-add NET_ADMIN "$IMAGE" sh -c 'grep CapEff /proc/self/status | cut -f2')"
    expect_eq "Docker's default set" "00000000a80425fb" \
        "$(dk_run --rm "$IMAGE" sh -c 'grep CapEff /proc/self/status | cut -f2')"
    expect_eq "--cap-drop CHOWN: chown fails" "denied" \
        "$(dk_run --rm --cap-drop CHOWN "$IMAGE" sh -c 'touch /tmp/f; chown 1 /tmp/f 2>/dev/null && echo allowed || echo denied')"
}

check_no_new_privileges() {
    expect_eq "no-new-privileges" 1 \
        "$(dk_run --rm --security-opt no-new-privileges "$IMAGE" sh -c 'grep NoNewPrivs /proc/self/status | cut -f2')"
    expect_eq "without it" 0 "$(dk_run --rm "$IMAGE" sh -c 'grep NoNewPrivs /proc/self/status | cut -f2')"
}

check_default_seccomp() {
    expect_eq "Docker's default profile: filter mode, keyctl fails with EPERM" "2 keyctl=1" \
        "$(dk_run --rm "$IMAGE" sh -c 'grep Seccomp: /proc/self/status | cut -f2; sysprobe keyctl' | paste -sd' ')"
    expect_eq "seccomp=unconfined" "0 keyctl=0" \
        "$(dk_run --rm --security-opt seccomp=unconfined "$IMAGE" sh -c 'grep Seccomp: /proc/self/status | cut -f2; sysprobe keyctl' | paste -sd' ')"
}

check_privileged() {
    local want
    # Every capability Docker 20.10 knows (up to CAP_AUDIT_READ, 37) that the lane holds
    # (this kind of machine lacks CAP_SYS_RESOURCE: runc refuses to start then).
    want=$(printf '%016x' $((0x$(grep CapBnd /proc/self/status | cut -f2) & 0x3fffffffff)))
    expect_eq "--privileged: the capabilities there are, no seccomp, mount works, host devices" \
        "$want 0 mount=0 yes" \
        "$(dk_run --rm --privileged "$IMAGE" sh -c 'grep CapEff /proc/self/status | cut -f2; grep Seccomp: /proc/self/status | cut -f2; sysprobe mount; test -c /dev/kmsg && echo yes' | paste -sd' ')"
}

check_device() {
    expect_eq "--device" "1 3 write-ok" \
        "$(dk_run --rm --device /dev/null:/dev/mynull "$IMAGE" sh -c 'stat -c "%t %T" /dev/mynull; echo x > /dev/mynull && echo write-ok' | paste -sd' ')"
}

check_ulimit() {
    expect_eq "--ulimit nofile" "1234 2345" \
        "$(dk_run --rm --ulimit nofile=1234:2345 "$IMAGE" sh -c 'ulimit -n; ulimit -Hn' | paste -sd' ')"
}

check_sysctl() {
    expect_eq "--sysctl" "1 123456789" \
        "$(dk_run --rm --sysctl net.ipv4.ip_forward=1 --sysctl kernel.shmmax=123456789 "$IMAGE" sh -c 'cat /proc/sys/net/ipv4/ip_forward /proc/sys/kernel/shmmax' | paste -sd' ')"
}

check_init() {
    expect_eq "--init: pid 1 is docker-init, the command its child" "docker-init 1" \
        "$(dk_run --rm --init "$IMAGE" sh -c 'cat /proc/1/comm; cut -d" " -f4 /proc/$$/stat' | paste -sd' ')"
}

check_hostname_and_network() {
    expect_eq "--hostname" "myhost myhost" \
        "$(dk_run --rm --hostname myhost "$IMAGE" sh -c 'hostname; cat /etc/hostname' | paste -sd' ')"
    expect_match "the default bridge gives an address" 'inet 172\.' \
        "$(dk_run --rm "$IMAGE" ip -4 addr show eth0)"
    expect_eq "--network none" "lo" "$(dk_run --rm --network none "$IMAGE" ls /sys/class/net | paste -sd' ')"
}

check_shm_size() {
    expect_eq "--shm-size" 32768 \
        "$(dk_run --rm --shm-size 32m "$IMAGE" sh -c "df -k /dev/shm | tail -1 | awk '{print \$2}'")"
}

check_cp() {
    dk_run -d --name "$N" "$IMAGE" sleep 1000 >/dev/null
    echo copied-in >"$W/cp-$N"
    docker cp "$W/cp-$N" "$N:/tmp/in"
    expect_eq "docker cp into a running container" copied-in "$(docker exec "$N" cat /tmp/in)"
    docker exec "$N" sh -c 'echo copied-out > /tmp/out'
    expect_eq "docker cp out of it" copied-out "$(docker cp "$N:/tmp/out" - | tar -xO)"
}

check_healthcheck() {
    dk_run -d --name "$N" --health-cmd 'test -f /tmp/ok' --health-interval 1s --health-retries 1 \
        "$IMAGE" sleep 1000 >/dev/null
    poll 30 sh -c "[ \$(docker inspect -f '{{.State.Health.Status}}' $N) = unhealthy ]"
    docker exec "$N" touch /tmp/ok
    poll 30 sh -c "[ \$(docker inspect -f '{{.State.Health.Status}}' $N) = healthy ]"
    echo "ok: unhealthy, then healthy"
}

check_oom_killed() {
    local rc
    dk_run --name "$N" -m 16m --memory-swap 16m "$IMAGE" dd if=/dev/zero of=/dev/null bs=64M count=1 && rc=0 || rc=$?
    expect_eq "exit code" 137 "$rc"
    expect_eq OOMKilled true "$(state .State.OOMKilled)"
}

check_parallel_starts() {
    local i pids=()
    for i in $(seq 20); do
        dk_run -d --name "$N-$i" "$IMAGE" sleep 1000 >/dev/null &
        pids+=($!)
    done
    for i in "${pids[@]}"; do wait "$i"; done
    expect_eq "20 containers started in parallel, all running" 20 \
        "$(docker ps -q --filter "name=^$N-" --filter status=running | wc -l)"
}

# Namespaces joined rather than created: Docker hands the runtime /proc/PID/ns/* paths of
# another container (or none, for the host's), as Compose and sidecars use them.
check_joined_namespaces() {
    local a=$N-a ns
    dk_run -d --name "$a" --ipc shareable --hostname joined "$IMAGE" \
        sh -c 'echo shared > /dev/shm/mark; sleep 1000' >/dev/null
    poll 20 docker exec "$a" test -f /dev/shm/mark
    ns=$(docker exec "$a" sh -c 'for n in net ipc pid; do readlink /proc/self/ns/$n; done' | paste -sd' ')
    expect_eq "--network, --ipc and --pid container:" "$ns" \
        "$(dk_run --rm --network "container:$a" --ipc "container:$a" --pid "container:$a" "$IMAGE" \
            sh -c 'for n in net ipc pid; do readlink /proc/self/ns/$n; done' | paste -sd' ')"
    expect_eq "the other's /dev/shm and processes" "shared yes" \
        "$(dk_run --rm --ipc "container:$a" --pid "container:$a" "$IMAGE" \
            sh -c 'cat /dev/shm/mark; ps -o comm | grep -q "^sleep" && echo yes' | paste -sd' ')"
    expect_eq "--pid host" "$(readlink /proc/self/ns/pid)" \
        "$(dk_run --rm --pid host "$IMAGE" readlink /proc/self/ns/pid)"
    expect_eq "--network host" "$(readlink /proc/self/ns/net)" \
        "$(dk_run --rm --network host "$IMAGE" readlink /proc/self/ns/net)"
    expect_eq "--cgroupns host shows the host's paths" yes \
        "$(dk_run --rm --cgroupns host "$IMAGE" sh -c 'grep -q ":/.*docker" /proc/self/cgroup && echo yes')"
    expect_eq "--cgroupns private shows its own root" 0 \
        "$(dk_run --rm --cgroupns private "$IMAGE" sh -c 'grep -vc ":/$" /proc/self/cgroup')"
}
