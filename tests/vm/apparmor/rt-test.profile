# The AppArmor profile of the VM lane's 70-apparmor scenario: everything allowed except
# writing /dev/shm/forbidden, so the scenario can tell from inside the container that the
# profile is enforced. tests/vm/run compiles it on the host (apparmor_parser -Q) and the
# scenario loads the binary policy through securityfs.
abi <abi/3.0>,

profile rt-test flags=(attach_disconnected,mediate_deleted) {
  file,
  capability,
  network,
  signal,
  mount,
  umount,
  pivot_root,
  ptrace,
  unix,
  deny /dev/shm/forbidden w,
}
