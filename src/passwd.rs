//! The fields rt reads from /etc/passwd: the host's, for the owner `list` shows, and the
//! image's, for a process's default HOME. Read as text, as runc does: NSS would load shared
//! objects (from the image, into a privileged process) and a static binary has none.

/// A user's entry: the name and the home directory of the first line with `uid`.
pub struct Entry<'a> {
    pub name: &'a str,
    pub home: &'a str,
}

pub fn entry(passwd: &str, uid: u32) -> Option<Entry<'_>> {
    passwd.lines().find_map(|l| {
        let f: Vec<&str> = l.split(':').collect();
        (f.len() >= 6 && f[2].parse::<u32>().ok() == Some(uid)).then(|| Entry {
            name: f[0],
            home: f[5],
        })
    })
}

#[cfg(test)]
mod tests {
    use super::entry;

    #[test]
    fn entries_come_from_whole_lines() {
        let p = "root:x:0:0:root:/root:/bin/bash\n# comment\nbroken:1\n\
                 rt-rootless:x:1001:1001::/home/x:/bin/sh\nshort:x:7:7\n";
        let root = entry(p, 0).unwrap();
        assert_eq!((root.name, root.home), ("root", "/root"));
        assert_eq!(entry(p, 1001).unwrap().name, "rt-rootless");
        assert_eq!(entry(p, 1001).unwrap().home, "/home/x");
        // Fewer than six fields: no entry (not a half-read one).
        assert!(entry(p, 7).is_none());
        assert!(entry(p, 8).is_none());
    }
}
