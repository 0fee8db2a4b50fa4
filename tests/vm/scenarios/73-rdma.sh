#!/bin/sh
# linux.resources.rdma on the cgroup v2 rdma controller, with a soft-RoCE device (rdma_rxe
# over a veth) as the RDMA device: the limits are in the container's rdma.max, seen from
# inside; rt update changes them; a device the kernel does not know fails create naming
# it, and leaves no cgroup. (The kernel ends each rdma.max line with a blank.)
. /scenarios/lib.sh

grep -qw rdma $CG/cgroup.controllers || fail "no rdma controller: $(cat $CG/cgroup.controllers)"
# /bin/ip is iproute2's (tests/vm/run); busybox sh would take its own applet for `ip`
/bin/ip link add rxenet0 type veth peer name rxenet1 || fail "cannot make a veth"
/bin/ip link set rxenet0 up && /bin/ip link set rxenet1 up || fail "cannot bring the veth up"
rdma link add rxe0 type rxe netdev rxenet0 || { dmesg | tail -3; fail "cannot make the soft-RoCE device rxe0"; }
# rxe0 and its veth stay until the guest powers off: unregistering an RDMA device while
# cgroups have held limits for it oopses this kernel (list corruption in
# rdmacg_unregister_device, seen here once in three runs)

make_bundle rd 'sleep 1000' '"rdma": {"rxe0": {"hcaHandles": 3, "hcaObjects": 100}}'
run_detached rd
pid=$(state_pid rd)
inside=/proc/$pid/root/sys/fs/cgroup
echo "rdma.max: $(cat $CG/rd/rdma.max), inside: $(cat $inside/rdma.max)"
grep -q '^rxe0 hca_handle=3 hca_object=100 *$' $CG/rd/rdma.max || fail "rdma.max: $(cat $CG/rd/rdma.max)"
grep -q '^rxe0 hca_handle=3 hca_object=100 *$' $inside/rdma.max || fail "inside: $(cat $inside/rdma.max)"
echo '{"rdma": {"rxe0": {"hcaHandles": 5}}}' | rt update --resources - rd || fail "rt update rdma"
grep -q '^rxe0 hca_handle=5 hca_object=max *$' $CG/rd/rdma.max || fail "after update: $(cat $CG/rd/rdma.max)"
rt delete -f rd || fail "rt delete -f rd"

make_bundle rdx 'true' '"rdma": {"mlx5_0": {"hcaHandles": 1}}'
out=$(rt run --bundle $BUNDLES/rdx rdx 2>&1) && fail "a device the kernel does not know was accepted"
echo "$out"
echo "$out" | grep -qx 'rt: linux.resources.rdma.mlx5_0: this host refused it: no such device' || fail "error: $out"
[ -d $CG/rdx ] && fail "the cgroup of rdx is left"
echo "rdma limits ok"
