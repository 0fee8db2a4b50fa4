# The end-to-end lane's daemons, image and check harness (see tests/e2e/run). Sourced
# inside the lane's namespaces, with E2E_WORK (the lane's directory), E2E_RT (rt's path)
# and E2E_RUNTIMES set.

e2e=${e2e:-$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)}
W=$E2E_WORK
IMAGE=e2e/busybox:1
PAUSE_IMAGE=e2e/pause:1
export DOCKER_HOST=unix://$W/docker.sock
export CONTAINERD_ADDRESS=$W/containerd.sock
export CONTAINERD_NAMESPACE=e2e
export CONTAINERS_CONF=$W/podman/containers.conf
export CONTAINERS_STORAGE_CONF=$W/podman/storage.conf

# A registration file of tests/e2e/config with rt's path in it (the README shows the same
# text with /usr/local/bin/rt).
registration() {
    sed "s|@RT@|$E2E_RT|g" "$e2e/config/$1"
}

wait_for_socket() {
    local i
    for i in $(seq 100); do
        [ -S "$1" ] && return 0
        sleep 0.2
    done
    echo "e2e: $2 did not come up; its log:" >&2
    tail -n 20 "$3" >&2
    return 1
}

start_daemons() {
    mkdir -p "$W/containerd" "$W/docker" "$W/podman" "$W/cni"
    {
        registration containerd.toml
        cat <<EOF
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "docker.io/$PAUSE_IMAGE"
  # The kubelet gives pods a negative oom_score_adj, which needs CAP_SYS_RESOURCE: this
  # kind of machine runs without it (both runtimes refuse such a pod), so containerd
  # keeps it no lower than its own.
  restrict_oom_score_adj = true
[plugins."io.containerd.grpc.v1.cri".cni]
  conf_dir = "$W/cni"
  bin_dir = "$W/cni"
[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
  runtime_type = "io.containerd.runc.v2"
EOF
    } >"$W/containerd/config.toml"
    containerd --config "$W/containerd/config.toml" --root "$W/containerd/root" \
        --state "$W/containerd/state" --address "$W/containerd.sock" \
        >"$W/containerd.log" 2>&1 &
    echo $! >"$W/containerd.pid"
    wait_for_socket "$W/containerd.sock" containerd "$W/containerd.log"

    # The lane's CRI client (tests/e2e/cri/cri.py) and its messages.
    mkdir -p "$W/cri"
    protoc -I "$e2e/cri" --python_out="$W/cri" "$e2e/cri/cri.proto"

    registration daemon.json >"$W/docker/daemon.json"
    # --default-runtime: rt's checks run without --runtime, runc's with --runtime runc.
    dockerd --config-file "$W/docker/daemon.json" --default-runtime rt \
        --data-root "$W/docker/data" --exec-root "$W/docker/exec" \
        --pidfile "$W/docker/dockerd.pid" -H "unix://$W/docker.sock" \
        --containerd "$W/containerd.sock" >"$W/dockerd.log" 2>&1 &
    wait_for_socket "$W/docker.sock" dockerd "$W/dockerd.log"

    # podman has no daemon: its configuration, made of the README's registration text
    # and the lane's own settings (state under $W, no network, the ulimits this kind of
    # machine needs: its hard limits are below podman's defaults).
    {
        cat <<EOF
[containers]
netns = "none"
default_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]

[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = "$W/podman/events.log"
tmp_dir = "$W/podman/tmp"
static_dir = "$W/podman/root/libpod"
volume_path = "$W/podman/root/volumes"

EOF
        registration containers.conf
    } >"$CONTAINERS_CONF"
    cat >"$CONTAINERS_STORAGE_CONF" <<EOF
[storage]
driver = "overlay"
graphroot = "$W/podman/root"
runroot = "$W/podman/runroot"
EOF
}

stop_daemons() {
    docker rm -f $(docker ps -aq) >/dev/null 2>&1 || true
    podman rm -f -a >/dev/null 2>&1 || true
    as_user podman rm -f -a >/dev/null 2>&1 || true
    local pid
    for pid in $(cat "$W/docker/dockerd.pid" 2>/dev/null) $(cat "$W/containerd.pid" 2>/dev/null); do
        kill "$pid" 2>/dev/null || true
        for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    done
}

# The image every engine runs: busybox-static, and sysprobe (a static build of the
# integration suite's probe, to try system calls seccomp should block).
make_images() {
    local rootfs=$W/image/rootfs a
    mkdir -p "$rootfs/bin" "$rootfs/etc" "$rootfs/tmp"
    cp "$(command -v busybox)" "$rootfs/bin/busybox"
    for a in $("$rootfs/bin/busybox" --list); do
        [ "$a" = busybox ] || ln -sf busybox "$rootfs/bin/$a"
    done
    gcc -static -O2 -o "$rootfs/bin/sysprobe" "$e2e/../integration/probe/sysprobe.c"
    echo 'root:x:0:0:root:/root:/bin/sh' >"$rootfs/etc/passwd"
    echo 'nobody:x:65534:65534:nobody:/:/bin/sh' >>"$rootfs/etc/passwd"
    printf 'root:x:0:\nnobody:x:65534:\n' >"$rootfs/etc/group"
    tar -C "$rootfs" -cf "$W/image/rootfs.tar" .
    docker import "$W/image/rootfs.tar" "$IMAGE" >/dev/null
    docker import --change 'ENTRYPOINT ["/bin/sleep", "2147483647"]' \
        "$W/image/rootfs.tar" "$PAUSE_IMAGE" >/dev/null
    docker save -o "$W/image/images.tar" "$IMAGE" "$PAUSE_IMAGE"
    ctr images import --all-platforms "$W/image/images.tar" >/dev/null
    ctr -n k8s.io images import --all-platforms "$W/image/images.tar" >/dev/null
    podman import -q "$W/image/rootfs.tar" "$IMAGE" >/dev/null
}

# selected ENGINE CHECK [ENGINE[:CHECK]...]: whether the command line asks for it.
# Rootless podman: an ordinary user of the lane's own (its passwd, group, subuid and
# subgid lines exist only in the lane's mount namespace, bound over copies of the host's
# files), with podman's storage, runtime directory and containers.conf under the lane's
# directory. podman runs its runtime as uid 0 of the user's namespace, with the user's
# XDG_RUNTIME_DIR and no --root: the way rootless podman and rootless Docker use runc.
ROOTLESS_USER=rt-e2e
setup_rootless() {
    local u=4242 home=$W/rootless f
    while getent passwd "$u" >/dev/null || getent group "$u" >/dev/null; do u=$((u + 1)); done
    mkdir -p "$home/etc" "$home/home" "$home/xdg" "$home/tmp"
    cp /etc/passwd /etc/group "$home/etc/"
    echo "$ROOTLESS_USER:x:$u:$u::$home/home:/bin/sh" >>"$home/etc/passwd"
    echo "$ROOTLESS_USER:x:$u:" >>"$home/etc/group"
    echo "$ROOTLESS_USER:300000:65536" >"$home/etc/subuid"
    cp "$home/etc/subuid" "$home/etc/subgid"
    for f in passwd group subuid subgid; do
        [ -e "/etc/$f" ] || touch "/etc/$f"
        mount --bind "$home/etc/$f" "/etc/$f"
    done
    {
        cat <<EOF
[containers]
netns = "none"

[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = "$home/events.log"

EOF
        registration containers.conf
    } >"$home/containers.conf"
    cat >"$home/storage.conf" <<EOF
[storage]
driver = "vfs"
graphroot = "$home/storage"
runroot = "$home/run"
EOF
    chown -R "$u:$u" "$home"
    chmod 700 "$home/xdg"
    # The lane's directory is root's (0700): the user must reach its own part of it.
    chmod 711 "$W"
    as_user podman import -q "$W/image/rootfs.tar" "$IMAGE" >/dev/null
}

# as_user COMMAND...: COMMAND as the rootless user, with a login's environment.
as_user() {
    # shellcheck disable=SC2046 # user_prefix's words (the lane's paths have no spaces)
    $(user_prefix) "$@"
}

# The words that run a command as the rootless user (for `script -c` too).
user_prefix() {
    local home=$W/rootless
    echo setpriv --reuid "$(stat -c %u "$home/home")" --regid "$(stat -c %g "$home/home")" \
        --clear-groups -- env -i HOME="$home/home" USER="$ROOTLESS_USER" \
        LOGNAME="$ROOTLESS_USER" XDG_RUNTIME_DIR="$home/xdg" TMPDIR="$home/tmp" \
        PATH=/usr/sbin:/usr/bin:/sbin:/bin CONTAINERS_CONF="$home/containers.conf" \
        CONTAINERS_STORAGE_CONF="$home/storage.conf"
}

selected() {
    local engine=$1 check=$2 want
    shift 2
    [ $# -eq 0 ] && return 0
    for want in "$@"; do
        [ "$want" = "$engine" ] || [ "$want" = "$engine:$check" ] && return 0
    done
    return 1
}

# run_check ENGINE CHECK RUNTIME: one check, with a time limit, its output kept.
run_check() {
    local engine=$1 check=$2 runtime=$3 out v
    out=$W/out/$engine.$check.$runtime
    if timeout -k 10 "$per_check_timeout" "$e2e/check" "$engine" "$check" "$runtime" \
        >"$out" 2>&1 </dev/null; then
        v=pass
    else
        v=FAIL
    fi
    printf '%-4s %-8s %-28s %s\n' "$v" "$engine" "$check" "$runtime"
    echo "$engine $check $runtime $v" >>"$W/results"
}
