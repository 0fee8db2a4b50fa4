//! JSON keys matched as Go's encoding/json matches them, which is how runc reads
//! config.json, `exec --process` and `update -r`: a key that is none of a struct's field
//! names exactly is taken for the one it equals ignoring ASCII case (runc's update.bats
//! sends `{"CPU": {"Cpus": "1"}}`). Only names serde asks for as a struct's fields are
//! folded, so the free keys of annotations, sysctl or unified keep their spelling.

use serde::de::{self, DeserializeSeed, Deserializer, IntoDeserializer, MapAccess, SeqAccess};
use serde_json::{Map, Value};

/// Whether some key of the document starts with a capital letter: no key of the runtime
/// spec does, so only such documents need the slower folding parse. (A key that differs
/// from the spec's only further in, `"memorySWAP"`, is not caught; Go-written configs
/// capitalise the first letter.)
pub fn has_capitalised_key(text: &[u8]) -> bool {
    let mut i = 0;
    while i < text.len() {
        if text[i] != b'"' {
            i += 1;
            continue;
        }
        let start = i + 1;
        let mut end = start;
        while end < text.len() && text[end] != b'"' {
            end += if text[end] == b'\\' { 2 } else { 1 };
        }
        i = end + 1;
        if text.get(start).is_some_and(u8::is_ascii_uppercase) {
            let mut k = i;
            while k < text.len() && text[k].is_ascii_whitespace() {
                k += 1;
            }
            if text.get(k) == Some(&b':') {
                return true;
            }
        }
    }
    false
}

/// A parsed document, deserialized with its struct keys folded.
pub struct Folded(pub Value);

impl<'de> Deserializer<'de> for Folded {
    type Error = serde_json::Error;

    fn deserialize_any<V: de::Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        match self.0 {
            Value::Object(m) => visitor.visit_map(Fields::new(m, &[])),
            Value::Array(a) => visitor.visit_seq(Items(a.into_iter())),
            other => other.deserialize_any(visitor),
        }
    }

    fn deserialize_struct<V: de::Visitor<'de>>(
        self,
        name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        match self.0 {
            Value::Object(m) => visitor.visit_map(Fields::new(m, fields)),
            other => other.deserialize_struct(name, fields, visitor),
        }
    }

    fn deserialize_option<V: de::Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        match self.0 {
            Value::Null => visitor.visit_none(),
            other => visitor.visit_some(Folded(other)),
        }
    }

    fn deserialize_newtype_struct<V: de::Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        visitor.visit_newtype_struct(self)
    }

    // The runtime spec's enums are names (strings), matched exactly as before.
    fn deserialize_enum<V: de::Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        self.0.deserialize_enum(name, variants, visitor)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes
        byte_buf unit unit_struct seq tuple tuple_struct map identifier ignored_any
    }
}

/// An object's members, with keys renamed to the field names they fold to. The exact
/// spelling wins over a folded one; of two folded ones the last wins, as in Go.
struct Fields {
    entries: std::vec::IntoIter<(String, Value)>,
    value: Option<Value>,
}

impl Fields {
    fn new(m: Map<String, Value>, fields: &'static [&'static str]) -> Fields {
        let mut entries: Vec<(String, Value)> = Vec::with_capacity(m.len());
        let exact: Vec<&'static str> = fields
            .iter()
            .copied()
            .filter(|f| m.contains_key(*f))
            .collect();
        for (k, v) in m {
            let key = match fields.iter().find(|f| f.eq_ignore_ascii_case(&k)) {
                Some(f) if **f == k => k,
                Some(f) if exact.contains(f) => continue,
                // Only a folded key can meet another: keys of a map are unique, and an
                // exact one shuts out the folded ones.
                Some(f) => {
                    entries.retain(|(seen, _)| seen != f);
                    (*f).to_owned()
                }
                None => k,
            };
            entries.push((key, v));
        }
        Fields {
            entries: entries.into_iter(),
            value: None,
        }
    }
}

impl<'de> MapAccess<'de> for Fields {
    type Error = serde_json::Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Self::Error> {
        let Some((k, v)) = self.entries.next() else {
            return Ok(None);
        };
        self.value = Some(v);
        let key: de::value::StringDeserializer<serde_json::Error> = k.into_deserializer();
        seed.deserialize(key).map(Some)
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(
        &mut self,
        seed: V,
    ) -> Result<V::Value, Self::Error> {
        let v = self
            .value
            .take()
            .ok_or_else(|| de::Error::custom("a value asked for before its key"))?;
        seed.deserialize(Folded(v))
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.entries.len())
    }
}

struct Items(std::vec::IntoIter<Value>);

impl<'de> SeqAccess<'de> for Items {
    type Error = serde_json::Error;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, Self::Error> {
        self.0
            .next()
            .map(|v| seed.deserialize(Folded(v)))
            .transpose()
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.0.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use oci_spec::runtime::{LinuxResources, Spec};
    use serde::Deserialize;

    #[test]
    fn capitalised_keys_are_found_and_values_are_not_keys() {
        assert!(has_capitalised_key(br#"{"CPU": {"cpus": "1"}}"#));
        assert!(has_capitalised_key(br#"{"cpu": {"Cpus" : "1"}}"#));
        assert!(!has_capitalised_key(
            br#"{"caps": ["CAP_KILL"], "env": ["PATH=/x", "A=\"B\":"]}"#
        ));
        assert!(!has_capitalised_key(br#"{"a": "\\", "b": 1}"#));
    }

    #[test]
    fn struct_keys_fold_and_free_keys_do_not() {
        let v = serde_json::json!({
            "CPU": {"Cpus": "1", "Mems": "0"},
            "Memory": {"Limit": 1048576},
            "unified": {"Memory.High": "max"}
        });
        let r = LinuxResources::deserialize(Folded(v)).unwrap();
        let cpu = r.cpu().as_ref().unwrap();
        assert_eq!(cpu.cpus().as_deref(), Some("1"));
        assert_eq!(cpu.mems().as_deref(), Some("0"));
        assert_eq!(r.memory().as_ref().unwrap().limit(), Some(1048576));
        assert!(r.unified().as_ref().unwrap().contains_key("Memory.High"));
    }

    #[test]
    fn the_exact_spelling_wins() {
        let v = serde_json::json!({"cpu": {"cpus": "0", "CPUS": "1"}});
        let r = LinuxResources::deserialize(Folded(v)).unwrap();
        assert_eq!(r.cpu().as_ref().unwrap().cpus().as_deref(), Some("0"));
    }

    #[test]
    fn a_whole_config_reads_the_same_folded() {
        let text = br#"{"ociVersion": "1.0.2", "Root": {"Path": "rootfs", "readonly": true},
            "Process": {"Args": ["sh"], "Cwd": "/", "User": {"UID": 0, "GID": 0},
                        "Capabilities": {"Bounding": ["CAP_KILL"]}},
            "Linux": {"Namespaces": [{"Type": "pid"}], "Resources": {"Pids": {"Limit": 5}},
                      "Sysctl": {"Net.ipv4.ip_forward": "1"}},
            "Annotations": {"Org.Example": "x"}}"#;
        let v: Value = serde_json::from_slice(text).unwrap();
        let spec = Spec::deserialize(Folded(v)).unwrap();
        assert_eq!(
            spec.root().as_ref().unwrap().path().to_str(),
            Some("rootfs")
        );
        let p = spec.process().as_ref().unwrap();
        assert_eq!(p.args().as_deref(), Some(&["sh".to_owned()][..]));
        assert_eq!(
            p.capabilities()
                .as_ref()
                .unwrap()
                .bounding()
                .as_ref()
                .unwrap()
                .len(),
            1
        );
        let linux = spec.linux().as_ref().unwrap();
        assert_eq!(linux.namespaces().as_ref().unwrap().len(), 1);
        assert_eq!(
            linux
                .resources()
                .as_ref()
                .unwrap()
                .pids()
                .as_ref()
                .unwrap()
                .limit(),
            5
        );
        assert!(
            linux
                .sysctl()
                .as_ref()
                .unwrap()
                .contains_key("Net.ipv4.ip_forward")
        );
        assert!(
            spec.annotations()
                .as_ref()
                .unwrap()
                .contains_key("Org.Example")
        );
    }
}
