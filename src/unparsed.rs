//! Members of rt's state.json that most commands never look at, kept as JSON text.

use serde::{Deserialize, Serialize};

/// A member of state.json that only some commands use, kept as its JSON text when the state
/// is read (serde_json checks its syntax and builds nothing) and parsed by the command that
/// needs it. `list` and `state` read every container's state.json, and a seccomp profile
/// (runc's default: 350 syscall names) is most of the file: building it cost each of them
/// about half their time per container. The process (args, env, capabilities: a third of
/// a state without seccomp) is kept the same way for `exec`, its only reader, and the cgroup
/// directories rt created (on a hybrid host 10 to 40 absolute paths, half of a state
/// without seccomp) for `delete`.
#[derive(Debug, Clone)]
pub struct Unparsed<T> {
    json: Box<serde_json::value::RawValue>,
    of: std::marker::PhantomData<T>,
}

impl<T: Serialize + serde::de::DeserializeOwned> Unparsed<T> {
    pub fn new(value: &T) -> Result<Self, serde_json::Error> {
        Ok(Unparsed {
            json: serde_json::value::to_raw_value(value)?,
            of: std::marker::PhantomData,
        })
    }

    pub fn parse(&self) -> Result<T, serde_json::Error> {
        serde_json::from_str(self.json.get())
    }
}

impl<T> Serialize for Unparsed<T> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.json.serialize(s)
    }
}

impl<T> PartialEq for Unparsed<T> {
    fn eq(&self, other: &Self) -> bool {
        self.json.get() == other.json.get()
    }
}

impl<T> Eq for Unparsed<T> {}

impl<'de, T> Deserialize<'de> for Unparsed<T> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let json = Box::<serde_json::value::RawValue>::deserialize(d)?;
        // Capturing the text does not apply serde_json's nesting limit, so a member nested
        // too deep to parse later is refused here, when the state is read, as it was
        // before the member was deferred.
        if nesting(json.get()) > MAX_NESTING {
            return Err(serde::de::Error::custom("recursion limit exceeded"));
        }
        Ok(Unparsed {
            json,
            of: std::marker::PhantomData,
        })
    }
}

/// How deep a member of state.json may nest: serde_json refuses a document nested 128
/// deep, and the deepest member (cgroup.created) sits two objects down, inside the state's
/// object and the cgroup record's. With 126 (right for a member one object down) a state
/// could be read and written back that no JSON reader with serde_json's limit parses as a
/// whole (the fuzzer found one).
const MAX_NESTING: usize = 125;

/// How deep arrays and objects nest in `json`, a text serde_json accepted as JSON (so that
/// brackets inside strings are the only ones to skip).
fn nesting(json: &str) -> usize {
    let (mut depth, mut max, mut in_string, mut escaped) = (0usize, 0, false, false);
    for b in json.bytes() {
        match (in_string, b) {
            (true, _) if escaped => escaped = false,
            (true, b'\\') => escaped = true,
            (_, b'"') => in_string = !in_string,
            (false, b'[' | b'{') => {
                depth += 1;
                max = max.max(depth);
            }
            (false, b']' | b'}') => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    max
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A seccomp profile recorded in state.json is written as it was given, read back
    /// without being built, and parses to the same profile when exec asks for it; a member
    /// that is not JSON still fails the read.
    #[test]
    fn unparsed_members_round_trip() {
        let profile: oci_spec::runtime::LinuxSeccomp = serde_json::from_str(
            r#"{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["read", "write"], "action": "SCMP_ACT_ALLOW"}]}"#,
        )
        .unwrap();
        #[derive(Serialize, Deserialize)]
        struct Doc {
            seccomp: Unparsed<oci_spec::runtime::LinuxSeccomp>,
        }
        let text = serde_json::to_string(&Doc {
            seccomp: Unparsed::new(&profile).unwrap(),
        })
        .unwrap();
        let back: Doc = serde_json::from_str(&text).unwrap();
        assert_eq!(back.seccomp.parse().unwrap(), profile);
        assert!(serde_json::from_str::<Doc>(r#"{"seccomp": {"defaultAction": }"#).is_err());
        let deep = format!(
            r#"{{"seccomp": {{"x": {}{}}}}}"#,
            "[".repeat(200),
            "]".repeat(200)
        );
        assert!(serde_json::from_str::<Doc>(&deep).is_err());
        assert_eq!(nesting(r#"{"a": ["[{\"]", {"b": []}]}"#), 4);
        assert_eq!(nesting(r#""{[""#), 0);
        let wrong: Doc = serde_json::from_str(r#"{"seccomp": {"defaultAction": 7}}"#).unwrap();
        assert!(wrong.seccomp.parse().is_err());
    }
}
