//! A classic-BPF interpreter with the kernel's seccomp rules, so tests can ask a compiled
//! program for its verdict on any (arch, nr, args) without installing it.

use libc::sock_filter;

/// What the kernel hands a seccomp filter (struct seccomp_data, 64 bytes).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Call {
    pub nr: u32,
    pub arch: u32,
    pub instruction_pointer: u64,
    pub args: [u64; 6],
}

impl Call {
    pub fn new(arch: u32, nr: u32, args: [u64; 6]) -> Self {
        Call {
            nr,
            arch,
            instruction_pointer: 0,
            args,
        }
    }

    /// The 32-bit word at byte offset `off`, as BPF_LD|BPF_W|BPF_ABS reads it (little endian
    /// halves of the 64-bit fields, as on x86).
    fn word(&self, off: u32) -> Option<u32> {
        if !off.is_multiple_of(4) {
            return None;
        }
        let half = |v: u64, hi: bool| if hi { (v >> 32) as u32 } else { v as u32 };
        match off {
            0 => Some(self.nr),
            4 => Some(self.arch),
            8 | 12 => Some(half(self.instruction_pointer, off == 12)),
            16..=60 => {
                let i = ((off - 16) / 8) as usize;
                Some(half(self.args[i], (off - 16) % 8 == 4))
            }
            _ => None,
        }
    }
}

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum SimError {
    #[error("instruction {0}: unsupported opcode {1:#06x}")]
    Opcode(usize, u16),
    #[error("instruction {0}: jump past the end of the program")]
    Jump(usize),
    #[error("instruction {0}: load from invalid offset {1}")]
    Load(usize, u32),
    #[error("instruction {0}: division by zero")]
    DivZero(usize),
    #[error("the program falls off its end")]
    NoReturn,
    #[error("the program is empty or longer than 4096 instructions")]
    Length,
}

/// Runs `prog` on `call` and returns the 32-bit seccomp return value.
pub fn run(prog: &[sock_filter], call: &Call) -> Result<u32, SimError> {
    if prog.is_empty() || prog.len() > 4096 {
        return Err(SimError::Length);
    }
    let (mut a, mut x) = (0u32, 0u32);
    let mut mem = [0u32; 16];
    let mut pc = 0usize;
    while let Some(ins) = prog.get(pc) {
        let k = ins.k;
        let next = pc + 1;
        let target = |off: usize| {
            let t = next + off;
            if t < prog.len() {
                Ok(t)
            } else {
                Err(SimError::Jump(pc))
            }
        };
        let src = if ins.code & 0x08 != 0 { x } else { k };
        pc = match ins.code {
            // BPF_LD | BPF_W | BPF_ABS
            0x20 => {
                a = call.word(k).ok_or(SimError::Load(pc, k))?;
                next
            }
            // BPF_LD | BPF_W | BPF_LEN, BPF_LDX | BPF_W | BPF_LEN
            0x80 => {
                a = 64;
                next
            }
            0x81 => {
                x = 64;
                next
            }
            // BPF_LD | BPF_IMM, BPF_LDX | BPF_IMM
            0x00 => {
                a = k;
                next
            }
            0x01 => {
                x = k;
                next
            }
            // BPF_LD | BPF_MEM, BPF_LDX | BPF_MEM, BPF_ST, BPF_STX
            0x60 | 0x61 | 0x02 | 0x03 => {
                let slot = mem.get_mut(k as usize).ok_or(SimError::Load(pc, k))?;
                match ins.code {
                    0x60 => a = *slot,
                    0x61 => x = *slot,
                    0x02 => *slot = a,
                    _ => *slot = x,
                }
                next
            }
            // BPF_ALU
            c if c & 0x07 == 0x04 => {
                a = match c & 0xf0 {
                    0x00 => a.wrapping_add(src),
                    0x10 => a.wrapping_sub(src),
                    0x20 => a.wrapping_mul(src),
                    0x30 => a.checked_div(src).ok_or(SimError::DivZero(pc))?,
                    0x40 => a | src,
                    0x50 => a & src,
                    0x60 => a.checked_shl(src).unwrap_or(0),
                    0x70 => a.checked_shr(src).unwrap_or(0),
                    0x80 => a.wrapping_neg(),
                    0x90 => a.checked_rem(src).ok_or(SimError::DivZero(pc))?,
                    0xa0 => a ^ src,
                    _ => return Err(SimError::Opcode(pc, c)),
                };
                next
            }
            // BPF_JMP | BPF_JA
            0x05 => target(k as usize)?,
            // BPF_JMP conditionals
            c if c & 0x07 == 0x05 => {
                let taken = match c & 0xf0 {
                    0x10 => a == src,
                    0x20 => a > src,
                    0x30 => a >= src,
                    0x40 => a & src != 0,
                    _ => return Err(SimError::Opcode(pc, c)),
                };
                target(usize::from(if taken { ins.jt } else { ins.jf }))?
            }
            // BPF_RET | BPF_K, BPF_RET | BPF_A
            0x06 => return Ok(k),
            0x16 => return Ok(a),
            // BPF_MISC | BPF_TAX, BPF_MISC | BPF_TXA
            0x07 => {
                x = a;
                next
            }
            0x87 => {
                a = x;
                next
            }
            c => return Err(SimError::Opcode(pc, c)),
        };
    }
    Err(SimError::NoReturn)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ins(code: u16, jt: u8, jf: u8, k: u32) -> sock_filter {
        sock_filter { code, jt, jf, k }
    }

    #[test]
    fn loads_halves_of_arguments() {
        let c = Call::new(1, 2, [0x1_0000_0002, 0, 0, 0, 0, 0xffff_0000_0000_0000]);
        assert_eq!(c.word(16), Some(2));
        assert_eq!(c.word(20), Some(1));
        assert_eq!(c.word(60), Some(0xffff_0000));
        assert_eq!(c.word(64), None);
        assert_eq!(c.word(17), None);
    }

    #[test]
    fn interprets_jumps_and_returns() {
        // if nr == 7 return 1 else return A & 0xf0 (A = arch)
        let prog = [
            ins(0x20, 0, 0, 0),
            ins(0x15, 0, 1, 7),
            ins(0x06, 0, 0, 1),
            ins(0x20, 0, 0, 4),
            ins(0x54, 0, 0, 0xf0),
            ins(0x16, 0, 0, 0),
        ];
        assert_eq!(run(&prog, &Call::new(0xab, 7, [0; 6])), Ok(1));
        assert_eq!(run(&prog, &Call::new(0xab, 8, [0; 6])), Ok(0xa0));
    }

    #[test]
    fn rejects_broken_programs() {
        assert_eq!(run(&[], &Call::default()), Err(SimError::Length));
        assert_eq!(
            run(&[ins(0x05, 0, 0, 5)], &Call::default()),
            Err(SimError::Jump(0))
        );
        assert_eq!(
            run(&[ins(0x20, 0, 0, 0)], &Call::default()),
            Err(SimError::NoReturn)
        );
        assert_eq!(
            run(&[ins(0xff, 0, 0, 0)], &Call::default()),
            Err(SimError::Opcode(0, 0xff))
        );
    }
}
