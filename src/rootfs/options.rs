//! mounts[].options → mount(2) flags, propagation changes, recursive attributes and the
//! file-system specific data string. Pure, so that every option is unit-tested.

use nix::mount::MsFlags;

/// MOUNT_ATTR_* bits for mount_setattr(2) (include/uapi/linux/mount.h).
pub mod attr {
    pub const RDONLY: u64 = 0x0000_0001;
    pub const NOSUID: u64 = 0x0000_0002;
    pub const NODEV: u64 = 0x0000_0004;
    pub const NOEXEC: u64 = 0x0000_0008;
    pub const ATIME_MASK: u64 = 0x0000_0070;
    pub const RELATIME: u64 = 0x0000_0000;
    pub const NOATIME: u64 = 0x0000_0010;
    pub const STRICTATIME: u64 = 0x0000_0020;
    pub const NODIRATIME: u64 = 0x0000_0080;
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MountOptions {
    /// Flags set by the options (MS_RDONLY, MS_NOSUID, MS_BIND, ...).
    pub flags: MsFlags,
    /// Flags an option explicitly cleared ("rw", "suid", "dev", ...).
    pub cleared: MsFlags,
    /// Propagation changes, applied one by one after the mount exists.
    pub propagation: Vec<MsFlags>,
    /// mount_setattr(2) attributes applied recursively ("rro", "rnosuid", ...).
    pub rec_attr_set: u64,
    pub rec_attr_clr: u64,
    /// Options the kernel interprets per file system ("size=64m", "mode=755", ...).
    pub data: Vec<String>,
    /// "idmap"/"ridmap" were given.
    pub idmap: bool,
    /// "tmpcopyup" (a runc extension): a tmpfs starts with a copy of what it covers.
    pub tmpcopyup: bool,
}

impl Default for MountOptions {
    fn default() -> Self {
        MountOptions {
            flags: MsFlags::empty(),
            cleared: MsFlags::empty(),
            propagation: Vec::new(),
            rec_attr_set: 0,
            rec_attr_clr: 0,
            data: Vec::new(),
            idmap: false,
            tmpcopyup: false,
        }
    }
}

impl MountOptions {
    pub fn is_bind(&self) -> bool {
        self.flags.contains(MsFlags::MS_BIND)
    }

    pub fn data_string(&self) -> String {
        self.data.join(",")
    }
}

#[derive(Clone, Copy)]
enum Opt {
    Set(MsFlags),
    Clear(MsFlags),
    Propagation(MsFlags),
    RecSet(u64),
    RecClear(u64),
    /// Recursive atime mode: clears the atime mask then sets the mode.
    RecAtime(u64),
    Idmap,
    TmpCopyUp,
    Ignore,
}

/// Every option rt recognises, and what it does; anything else is passed to the file
/// system as data. `rt features` lists the names (mountOptions).
const OPTIONS: &[(&str, Opt)] = {
    use MsFlags as F;
    use Opt::*;
    &[
        ("defaults", Ignore),
        ("ro", Set(F::MS_RDONLY)),
        ("rw", Clear(F::MS_RDONLY)),
        ("nosuid", Set(F::MS_NOSUID)),
        ("suid", Clear(F::MS_NOSUID)),
        ("nodev", Set(F::MS_NODEV)),
        ("dev", Clear(F::MS_NODEV)),
        ("noexec", Set(F::MS_NOEXEC)),
        ("exec", Clear(F::MS_NOEXEC)),
        ("sync", Set(F::MS_SYNCHRONOUS)),
        ("async", Clear(F::MS_SYNCHRONOUS)),
        ("dirsync", Set(F::MS_DIRSYNC)),
        ("remount", Set(F::MS_REMOUNT)),
        ("mand", Set(F::MS_MANDLOCK)),
        ("nomand", Clear(F::MS_MANDLOCK)),
        ("atime", Clear(F::MS_NOATIME)),
        ("noatime", Set(F::MS_NOATIME)),
        ("diratime", Clear(F::MS_NODIRATIME)),
        ("nodiratime", Set(F::MS_NODIRATIME)),
        ("relatime", Set(F::MS_RELATIME)),
        ("norelatime", Clear(F::MS_RELATIME)),
        ("strictatime", Set(F::MS_STRICTATIME)),
        ("nostrictatime", Clear(F::MS_STRICTATIME)),
        ("lazytime", Set(F::MS_LAZYTIME)),
        ("nolazytime", Clear(F::MS_LAZYTIME)),
        ("silent", Set(F::MS_SILENT)),
        ("loud", Clear(F::MS_SILENT)),
        ("bind", Set(F::MS_BIND)),
        ("rbind", Set(F::MS_BIND.union(F::MS_REC))),
        ("private", Propagation(F::MS_PRIVATE)),
        ("rprivate", Propagation(F::MS_PRIVATE.union(F::MS_REC))),
        ("shared", Propagation(F::MS_SHARED)),
        ("rshared", Propagation(F::MS_SHARED.union(F::MS_REC))),
        ("slave", Propagation(F::MS_SLAVE)),
        ("rslave", Propagation(F::MS_SLAVE.union(F::MS_REC))),
        ("unbindable", Propagation(F::MS_UNBINDABLE)),
        (
            "runbindable",
            Propagation(F::MS_UNBINDABLE.union(F::MS_REC)),
        ),
        ("rro", RecSet(attr::RDONLY)),
        ("rrw", RecClear(attr::RDONLY)),
        ("rnosuid", RecSet(attr::NOSUID)),
        ("rsuid", RecClear(attr::NOSUID)),
        ("rnodev", RecSet(attr::NODEV)),
        ("rdev", RecClear(attr::NODEV)),
        ("rnoexec", RecSet(attr::NOEXEC)),
        ("rexec", RecClear(attr::NOEXEC)),
        ("rnodiratime", RecSet(attr::NODIRATIME)),
        ("rdiratime", RecClear(attr::NODIRATIME)),
        ("rrelatime", RecAtime(attr::RELATIME)),
        ("rnoatime", RecAtime(attr::NOATIME)),
        ("rstrictatime", RecAtime(attr::STRICTATIME)),
        ("idmap", Idmap),
        ("ridmap", Idmap),
        ("tmpcopyup", TmpCopyUp),
    ]
};

fn classify(opt: &str) -> Option<Opt> {
    OPTIONS
        .iter()
        .find(|(name, _)| *name == opt)
        .map(|(_, o)| *o)
}

/// The names of the options rt recognises.
pub fn known() -> impl Iterator<Item = &'static str> {
    OPTIONS.iter().map(|(name, _)| *name)
}

pub fn parse(options: &[String]) -> MountOptions {
    let mut out = MountOptions::default();
    for opt in options {
        match classify(opt) {
            Some(Opt::Set(f)) => {
                out.flags.insert(f);
                out.cleared.remove(f);
            }
            Some(Opt::Clear(f)) => {
                out.flags.remove(f);
                out.cleared.insert(f);
            }
            Some(Opt::Propagation(f)) => out.propagation.push(f),
            Some(Opt::RecSet(a)) => {
                out.rec_attr_set |= a;
                out.rec_attr_clr &= !a;
            }
            Some(Opt::RecClear(a)) => {
                out.rec_attr_clr |= a;
                out.rec_attr_set &= !a;
            }
            Some(Opt::RecAtime(a)) => {
                out.rec_attr_clr |= attr::ATIME_MASK;
                out.rec_attr_set = (out.rec_attr_set & !attr::ATIME_MASK) | a;
            }
            Some(Opt::Idmap) => out.idmap = true,
            Some(Opt::TmpCopyUp) => out.tmpcopyup = true,
            Some(Opt::Ignore) => {}
            None => out.data.push(opt.clone()),
        }
    }
    out
}

/// Flags that the kernel keeps per mount and that a bind remount must restate, or else
/// the remount clears them (and fails with EPERM where they are locked by a user
/// namespace).
pub const PER_MOUNT_FLAGS: MsFlags = MsFlags::MS_RDONLY
    .union(MsFlags::MS_NOSUID)
    .union(MsFlags::MS_NODEV)
    .union(MsFlags::MS_NOEXEC)
    .union(MsFlags::MS_NOATIME)
    .union(MsFlags::MS_NODIRATIME)
    .union(MsFlags::MS_RELATIME)
    .union(MsFlags::MS_STRICTATIME);

#[cfg(test)]
mod tests {
    use super::*;

    fn p(opts: &[&str]) -> MountOptions {
        parse(&opts.iter().map(|s| s.to_string()).collect::<Vec<_>>())
    }

    #[test]
    fn flags_and_data() {
        let o = p(&["nosuid", "strictatime", "mode=755", "size=65536k"]);
        assert_eq!(o.flags, MsFlags::MS_NOSUID | MsFlags::MS_STRICTATIME);
        assert_eq!(o.data_string(), "mode=755,size=65536k");
        assert!(!o.is_bind());
    }

    #[test]
    fn later_options_win() {
        let o = p(&["ro", "rw"]);
        assert!(!o.flags.contains(MsFlags::MS_RDONLY));
        assert!(o.cleared.contains(MsFlags::MS_RDONLY));
        let o = p(&["rw", "ro"]);
        assert!(o.flags.contains(MsFlags::MS_RDONLY));
        assert!(!o.cleared.contains(MsFlags::MS_RDONLY));
    }

    #[test]
    fn bind_and_rbind() {
        let o = p(&["bind", "ro"]);
        assert!(o.is_bind());
        assert!(!o.flags.contains(MsFlags::MS_REC));
        let o = p(&["rbind", "nosuid", "noexec", "nodev"]);
        assert!(o.flags.contains(MsFlags::MS_BIND | MsFlags::MS_REC));
    }

    #[test]
    fn propagation_in_order() {
        let o = p(&["rbind", "rprivate", "shared"]);
        assert_eq!(
            o.propagation,
            vec![MsFlags::MS_PRIVATE | MsFlags::MS_REC, MsFlags::MS_SHARED]
        );
        assert!(o.data.is_empty());
    }

    #[test]
    fn recursive_attributes() {
        let o = p(&["rbind", "rro", "rnosuid", "rnoatime"]);
        assert_eq!(o.rec_attr_set, attr::RDONLY | attr::NOSUID | attr::NOATIME);
        assert_eq!(o.rec_attr_clr, attr::ATIME_MASK);
        let o = p(&["rro", "rrw"]);
        assert_eq!(o.rec_attr_set & attr::RDONLY, 0);
        assert_eq!(o.rec_attr_clr & attr::RDONLY, attr::RDONLY);
    }

    #[test]
    fn devpts_options_are_data() {
        let o = p(&[
            "nosuid",
            "noexec",
            "newinstance",
            "ptmxmode=0666",
            "mode=0620",
            "gid=5",
        ]);
        assert_eq!(o.data_string(), "newinstance,ptmxmode=0666,mode=0620,gid=5");
        assert_eq!(o.flags, MsFlags::MS_NOSUID | MsFlags::MS_NOEXEC);
    }

    #[test]
    fn idmap_is_recognised() {
        assert!(p(&["bind", "idmap"]).idmap);
        assert!(!p(&["bind"]).idmap);
    }
}
