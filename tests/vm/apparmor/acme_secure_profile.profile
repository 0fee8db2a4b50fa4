# The profile runtime-tools' linux_process_apparmor_profile validation file names
# (process.apparmorProfile "acme_secure_profile"): it only checks that the container runs
# under it, so it allows everything. tests/vm/run compiles it on the host; the
# 71-runtime-tools scenario loads it.
abi <abi/3.0>,

profile acme_secure_profile flags=(attach_disconnected,mediate_deleted) {
  file,
  capability,
  network,
  signal,
  mount,
  umount,
  pivot_root,
  ptrace,
  unix,
}
