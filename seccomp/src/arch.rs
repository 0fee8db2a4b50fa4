//! The ABIs a filter can serve on an x86_64 kernel, and their syscall tables.
//!
//! One x86_64 kernel runs three ABIs: native x86_64, i386 (its own audit arch and syscall
//! numbers) and x32 (the x86_64 audit arch, numbers with bit 30 set). A filter that only knew
//! the native numbers would let an i386 or x32 process call anything, so every program
//! dispatches on the ABI first and kills callers of an ABI the profile did not list.

use std::collections::HashMap;
use std::ffi::c_long;

/// `AUDIT_ARCH_X86_64` from linux/audit.h: EM_X86_64 | __AUDIT_ARCH_64BIT | __AUDIT_ARCH_LE.
pub const AUDIT_ARCH_X86_64: u32 = 62 | 0x8000_0000 | 0x4000_0000;
/// `AUDIT_ARCH_I386`: EM_386 | __AUDIT_ARCH_LE.
pub const AUDIT_ARCH_I386: u32 = 3 | 0x4000_0000;
/// `__X32_SYSCALL_BIT`: x32 calls arrive with the x86_64 audit arch and this bit set.
pub const X32_SYSCALL_BIT: u32 = 0x4000_0000;

/// Syscall numbers are small; no table reaches this far past its base.
const TABLE_SPAN: c_long = 1024;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Abi {
    X86_64,
    I386,
    X32,
}

impl Abi {
    pub fn name(self) -> &'static str {
        match self {
            Abi::X86_64 => "x86_64",
            Abi::I386 => "x86",
            Abi::X32 => "x32",
        }
    }

    /// Name → number for this ABI, from the syscall-numbers crate's kernel-generated tables.
    pub fn table(self) -> HashMap<&'static str, u32> {
        let (base, lookup): (c_long, fn(c_long) -> Option<&'static str>) = match self {
            Abi::X86_64 => (0, syscall_numbers::x86_64::sys_call_name),
            Abi::I386 => (0, syscall_numbers::x86::sys_call_name),
            Abi::X32 => (
                c_long::from(X32_SYSCALL_BIT),
                syscall_numbers::x32::sys_call_name,
            ),
        };
        (base..base + TABLE_SPAN)
            .filter_map(|nr| {
                let name = lookup(nr)?;
                Some((name, u32::try_from(nr).ok()?))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_agree_with_libc_for_the_native_abi() {
        let t = Abi::X86_64.table();
        assert_eq!(t["read"], libc::SYS_read as u32);
        assert_eq!(t["unshare"], libc::SYS_unshare as u32);
        assert_eq!(t["clone3"], libc::SYS_clone3 as u32);
        assert_eq!(t["kexec_load"], libc::SYS_kexec_load as u32);
        assert!(t.len() > 350, "{} x86_64 syscalls", t.len());
    }

    #[test]
    fn compat_tables_use_their_own_numbers() {
        let i386 = Abi::I386.table();
        // Facts from arch/x86/entry/syscalls/syscall_32.tbl.
        assert_eq!(i386["exit"], 1);
        assert_eq!(i386["mount"], 21);
        assert_eq!(i386["unshare"], 310);
        assert!(i386.contains_key("socketcall"));
        let x32 = Abi::X32.table();
        assert_eq!(x32["unshare"], X32_SYSCALL_BIT | 272);
        assert!(x32.values().all(|nr| nr & X32_SYSCALL_BIT != 0));
    }
}
