//! Container IDs become directory names under --root, so they are checked before anything
//! touches the disk: a `/` or `..` would escape the state directory.

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum BadId {
    #[error("container id: must not be empty")]
    Empty,
    #[error("container id: longer than 1024 bytes")]
    TooLong,
    #[error("container id {}: must not be \".\" or \"..\"", crate::error::quoted(.0))]
    Dots(String),
    #[error("container id {}: only letters, digits and _ + - . are allowed", crate::error::quoted(.0))]
    Chars(String),
}

pub const MAX_LEN: usize = 1024;

pub fn validate(id: &str) -> Result<(), BadId> {
    if id.is_empty() {
        return Err(BadId::Empty);
    }
    if id.len() > MAX_LEN {
        return Err(BadId::TooLong);
    }
    if id == "." || id == ".." {
        return Err(BadId::Dots(id.to_owned()));
    }
    let ok = id
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'+' | b'-' | b'.'));
    if !ok {
        return Err(BadId::Chars(id.to_owned()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_runc_ids() {
        for id in ["a", "abc-123", "x_y+z.w", "...", "a..b", &"x".repeat(1024)] {
            assert_eq!(validate(id), Ok(()), "{id:?}");
        }
    }

    #[test]
    fn rejects_bad_ids() {
        assert_eq!(validate(""), Err(BadId::Empty));
        assert_eq!(validate(&"x".repeat(1025)), Err(BadId::TooLong));
        assert!(matches!(validate("."), Err(BadId::Dots(_))));
        assert!(matches!(validate(".."), Err(BadId::Dots(_))));
        for id in ["a/b", "/abs", "a b", "a\nb", "é", "a:b", "a\0b"] {
            assert!(matches!(validate(id), Err(BadId::Chars(_))), "{id:?}");
        }
    }
}
