//! Rootless: an unprivileged user runs containers with `rt spec --rootless` bundles,
//! state under $XDG_RUNTIME_DIR/rt, its own uid mapped to root (and its /etc/subuid
//! ranges through newuidmap), no cgroups, and clear errors for what it cannot have.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

use serde_json::{Value, json};

use crate::common::*;

const USER: &str = "rt-rootless";

/// The test user (created once with useradd, which also gives it /etc/subuid and
/// /etc/subgid ranges; kept, like an installed package, so reruns find it).
fn user() -> (u32, u32) {
    static LOCK: Mutex<()> = Mutex::new(());
    let _g = LOCK.lock().unwrap();
    let id = |flag: &str| -> Option<u32> {
        let out = Command::new("id").args([flag, USER]).output().ok()?;
        String::from_utf8_lossy(&out.stdout).trim().parse().ok()
    };
    if id("-u").is_none() {
        let ok = Command::new("useradd")
            .args(["-M", "-s", "/usr/sbin/nologin", USER])
            .status()
            .unwrap()
            .success();
        assert!(ok, "useradd {USER} failed");
    }
    (id("-u").unwrap(), id("-g").unwrap())
}

fn subordinate_start(file: &str) -> u32 {
    fs::read_to_string(file)
        .unwrap()
        .lines()
        .find_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            (f[0] == USER).then(|| f[1].parse().unwrap())
        })
        .unwrap_or_else(|| panic!("no {file} range for {USER}"))
}

/// A place the user owns: its XDG_RUNTIME_DIR, a bundle, and a copy of rt it can run.
struct Home {
    dir: TempDir,
}

impl Home {
    fn new() -> Home {
        let (uid, gid) = user();
        let dir = TempDir::new("rootless");
        fs::create_dir(dir.path().join("xdg")).unwrap();
        fs::create_dir(dir.path().join("bin")).unwrap();
        let rt = dir.path().join("bin/rt");
        if fs::hard_link(RT, &rt).is_err() {
            fs::copy(RT, &rt).unwrap();
        }
        make_rootfs(&dir.path().join("bundle/rootfs"));
        let ok = Command::new("chown")
            .args(["-R", &format!("{uid}:{gid}"), dir.path().to_str().unwrap()])
            .status()
            .unwrap()
            .success();
        assert!(ok);
        fs::set_permissions(
            dir.path().join("xdg"),
            std::os::unix::fs::PermissionsExt::from_mode(0o700),
        )
        .unwrap();
        Home { dir }
    }

    fn bundle(&self) -> PathBuf {
        self.dir.path().join("bundle")
    }

    fn xdg(&self) -> PathBuf {
        self.dir.path().join("xdg")
    }

    /// rt as the user, in the bundle directory.
    fn rt(&self, args: &[&str]) -> Out {
        self.rt_with(&format!("XDG_RUNTIME_DIR={}", self.xdg().display()), args)
    }

    /// rt as the user with `env_arg` given to env(1) (`VAR=value`, or `-uVAR`).
    fn rt_with(&self, env_arg: &str, args: &[&str]) -> Out {
        let mut cmd = Command::new("runuser");
        cmd.args(["-u", USER, "--", "env", env_arg])
            .arg(self.dir.path().join("bin/rt"))
            .args(args)
            .current_dir(self.bundle())
            .stdin(std::process::Stdio::null());
        capture(&mut cmd)
    }

    /// `rt spec --rootless` made by the user, then edited (terminal off, script to run).
    fn spec(&self, script: &str, edit: impl FnOnce(&mut Value)) {
        let _ = fs::remove_file(self.bundle().join("config.json"));
        self.rt(&["spec", "--rootless"]).ok();
        let path = self.bundle().join("config.json");
        let mut c: Value = serde_json::from_slice(&fs::read(&path).unwrap()).unwrap();
        c["process"]["terminal"] = json!(false);
        c["process"]["args"] = json!(["sh", "-c", script]);
        edit(&mut c);
        fs::write(&path, serde_json::to_vec_pretty(&c).unwrap()).unwrap();
    }

    fn state_entries(&self) -> Vec<String> {
        fs::read_dir(self.xdg().join("rt"))
            .map(|d| {
                d.flatten()
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default()
    }
}

impl Drop for Home {
    fn drop(&mut self) {
        for id in self.state_entries() {
            let _ = self.rt(&["delete", "-f", &id]);
        }
    }
}

#[test]
#[ignore = "needs root: scripts/test.sh runs it (cargo test -- --include-ignored, as root)"]
fn rootless_run_maps_the_user_to_root() {
    need_root();
    let h = Home::new();
    let (uid, _) = user();
    h.spec(
        "id -u; cat /proc/self/uid_map; echo pid=$$; hostname; head -c 2 /dev/zero | od -An -tx1",
        |_| {},
    );
    let out = h.rt(&["run", &unique("rl")]);
    let text = out.ok();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "0");
    assert_eq!(
        lines[1].split_whitespace().collect::<Vec<_>>(),
        vec!["0", &uid.to_string(), "1"]
    );
    assert_eq!(lines[2], "pid=1");
    assert_eq!(lines[3], "rt");
    assert_eq!(lines[4].trim(), "00 00");
    assert!(h.state_entries().is_empty(), "{:?}", h.state_entries());
}

/// Issue 11 item 4: `rt spec --rootless` binds the host's /sys; every mount below it (the
/// host's cgroup mounts among them) is read-only inside, none writable.
#[test]
#[ignore = "needs root: scripts/test.sh runs it (cargo test -- --include-ignored, as root)"]
fn rootless_sys_is_read_only_all_the_way_down() {
    need_root();
    let h = Home::new();
    h.spec(
        "awk '$5 ~ \"^/sys\" { split($6, o, \",\"); n++; if (o[1] != \"ro\") print \"writable\", $5 } END { print n, \"mounts\" }' /proc/self/mountinfo",
        |_| {},
    );
    let out = h.rt(&["run", &unique("rlsys")]);
    let text = out.ok();
    assert!(!text.contains("writable"), "{text}");
    let n: u32 = text.split_whitespace().next().unwrap().parse().unwrap();
    assert!(n > 1, "the host's mounts below /sys are not there: {text}");
}

#[test]
#[ignore = "needs root: scripts/test.sh runs it (cargo test -- --include-ignored, as root)"]
fn rootless_lifecycle_and_exec() {
    need_root();
    let h = Home::new();
    h.spec("sleep 1000", |_| {});
    let id = unique("rlc");
    h.rt(&["create", &id]).ok();
    assert!(
        Path::new(&h.xdg().join("rt").join(&id)).is_dir(),
        "state is not under XDG_RUNTIME_DIR/rt"
    );
    let st: Value = serde_json::from_str(h.rt(&["state", &id]).ok()).unwrap();
    assert_eq!(st["status"], "created");
    assert_eq!(st["owner"], USER);
    h.rt(&["start", &id]).ok();
    let out = h.rt(&["exec", &id, "sh", "-c", "id -u; echo $$"]);
    assert_eq!(out.ok().lines().next(), Some("0"));
    h.rt(&["kill", &id, "KILL"]).ok();
    // The signal is sent, not yet delivered: delete without --force needs it stopped.
    for _ in 0..500 {
        if h.rt(&["state", &id]).ok().contains("\"stopped\"") {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    h.rt(&["delete", &id]).ok();
    assert!(h.state_entries().is_empty());
}

#[test]
#[ignore = "needs root: scripts/test.sh runs it (cargo test -- --include-ignored, as root)"]
fn rootless_with_subordinate_ids() {
    need_root();
    let h = Home::new();
    let (uid, gid) = user();
    let sub_uid = subordinate_start("/etc/subuid");
    let sub_gid = subordinate_start("/etc/subgid");
    h.spec("cat /proc/self/uid_map; grep Groups /proc/self/status; chown 5:7 /dev/shm && stat -c '%u %g' /dev/shm", |c| {
        c["linux"]["uidMappings"] = json!([{"containerID": 0, "hostID": uid, "size": 1}, {"containerID": 1, "hostID": sub_uid, "size": 1000}]);
        c["linux"]["gidMappings"] = json!([{"containerID": 0, "hostID": gid, "size": 1}, {"containerID": 1, "hostID": sub_gid, "size": 1000}]);
        c["process"]["user"]["additionalGids"] = json!([3]);
        for set in ["bounding", "effective", "permitted"] {
            c["process"]["capabilities"][set].as_array_mut().unwrap().push(json!("CAP_CHOWN"));
        }
    });
    let out = h.rt(&["run", &unique("rls")]);
    let text = out.ok();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[1].split_whitespace().collect::<Vec<_>>(),
        vec!["1", &sub_uid.to_string(), "1000"],
        "{text}"
    );
    // newgidmap leaves setgroups allowed: additionalGids work.
    assert_eq!(
        lines[2].split_whitespace().collect::<Vec<_>>(),
        vec!["Groups:", "3"],
        "{text}"
    );
    assert_eq!(lines[3], "5 7", "{text}");
}

#[test]
#[ignore = "needs root: scripts/test.sh runs it (cargo test -- --include-ignored, as root)"]
fn rootless_refusals_are_clear() {
    need_root();
    let h = Home::new();
    h.spec("true", |c| {
        c["linux"]["resources"] = json!({"memory": {"limit": 33554432}})
    });
    h.rt(&["run", &unique("rlr")])
        .fails_with("linux.resources.memory: a rootless container has no cgroup here");
    h.spec("true", |c| {
        let ns: Vec<Value> = c["linux"]["namespaces"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|n| n["type"] != "user")
            .cloned()
            .collect();
        c["linux"]["namespaces"] = json!(ns);
        c["linux"].as_object_mut().unwrap().remove("uidMappings");
        c["linux"].as_object_mut().unwrap().remove("gidMappings");
    });
    h.rt(&["run", &unique("rlr")])
        .fails_with("a rootless container needs a user namespace");
    // Another user's ids cannot be mapped.
    h.spec("true", |c| {
        c["linux"]["uidMappings"] = json!([{"containerID": 0, "hostID": 0, "size": 1}]);
    });
    h.rt(&["run", &unique("rlr")])
        .fails_with("linux.uidMappings: newuidmap");
    // Moving a device out of the host's network namespace is root's.
    h.spec("true", |c| {
        c["linux"]["netDevices"] = json!({"lo": {"name": "eth0"}});
        c["linux"]["namespaces"]
            .as_array_mut()
            .unwrap()
            .push(json!({"type": "network"}));
    });
    h.rt(&["run", &unique("rlr")])
        .fails_with("linux.netDevices: moving a host's network device needs root on the host");
    assert!(h.state_entries().is_empty(), "{:?}", h.state_entries());
}

/// spec and features have no container, so they need no state directory: an ordinary
/// user without XDG_RUNTIME_DIR gets them; a command with a container says what is missing.
#[test]
#[ignore = "needs root: scripts/test.sh runs it (cargo test -- --include-ignored, as root)"]
fn commands_without_a_container_need_no_state_directory() {
    need_root();
    let h = Home::new();
    let _ = fs::remove_file(h.bundle().join("config.json"));
    h.rt_with("-uXDG_RUNTIME_DIR", &["spec", "--rootless"]).ok();
    assert!(h.bundle().join("config.json").is_file());
    let features = h.rt_with("-uXDG_RUNTIME_DIR", &["features"]);
    assert!(features.ok().contains("\"ociVersionMax\""));
    h.rt_with("-uXDG_RUNTIME_DIR", &["list"]).fails_with(
        "--root: not given, and XDG_RUNTIME_DIR (where rootless state goes) is not set",
    );
}

/// Rootless Docker and podman run their runtime as uid 0 of a user namespace of theirs
/// (RootlessKit's, podman's), with no --root, the user's XDG_RUNTIME_DIR and USER, and
/// configs that have no user namespace of their own and empty resource parts (Docker's
/// `"memory": {}`, zeros). rt takes them as runc does: state under XDG_RUNTIME_DIR, no
/// cgroup, device nodes bound from the host (mknod is refused in a user namespace), no
/// v1 hierarchy mounted. Here the namespace maps only root (`unshare -r`), so devpts gets
/// no gid=5, which it could not map.
#[test]
#[ignore = "needs root: scripts/test.sh runs it (cargo test -- --include-ignored, as root)"]
fn runtime_as_root_of_a_user_namespace() {
    need_root();
    let xdg = TempDir::new("uns-xdg");
    let id = unique("uns");
    let mut b = Bundle::sh(
        "id -u; cat /proc/self/uid_map; stat -c '%F %t:%T' /dev/null; \
         echo x > /dev/null && echo null-writable; head -c 2 /dev/zero | od -An -tx1; \
         hostname; grep -c ' - cgroup ' /proc/self/mountinfo; sleep 1000",
    );
    b.edit(|c| {
        for m in c["mounts"].as_array_mut().unwrap() {
            if m["destination"] == "/dev/pts" {
                m["options"] = json!([
                    "nosuid",
                    "noexec",
                    "newinstance",
                    "ptmxmode=0666",
                    "mode=0620"
                ]);
            }
        }
        c["linux"]["resources"] = json!({
            "devices": [{"allow": false, "access": "rwm"}],
            "memory": {}, "cpu": {"shares": 0}, "pids": {"limit": 0},
            "blockIO": {"weight": 0}, "unified": {}
        });
    });
    // One namespace for the whole lifecycle: a later command in another namespace could
    // not reach this one's container.
    let script = r#"
        trap '"$RT" delete -f "$ID" >/dev/null 2>&1' EXIT
        "$RT" run -d -b "$B" "$ID" >"$B/out" 2>&1 || { echo "run failed: $(cat "$B/out")"; exit 1; }
        i=0; until [ "$(wc -l <"$B/out")" -ge 7 ] || [ $i -ge 500 ]; do sleep 0.01; i=$((i+1)); done
        cat "$B/out"
        ls "$XDG_RUNTIME_DIR/rt"
        "$RT" exec "$ID" sh -c 'echo exec $(id -u) $(cat /proc/1/comm)'
        "$RT" state "$ID" | grep -o '"status": *"[a-z]*"'
        "$RT" kill "$ID" KILL && "$RT" delete -f "$ID" && ls "$XDG_RUNTIME_DIR/rt" | wc -l
    "#;
    let mut cmd = Command::new("unshare");
    cmd.args([
        "-U",
        "-m",
        "-r",
        "--propagation",
        "private",
        "--",
        "sh",
        "-c",
        script,
    ])
    .env("RT", RT)
    .env("ID", &id)
    .env("B", b.path())
    .env("XDG_RUNTIME_DIR", xdg.path())
    .env("USER", "someone")
    .stdin(std::process::Stdio::null());
    let out = capture(&mut cmd);
    let text = out.ok();
    let lines: Vec<String> = text
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect();
    assert_eq!(
        lines,
        [
            "0",
            "0 0 1",
            "character special file 1:3",
            "null-writable",
            "00 00",
            "rt-test",
            "0",
            &id,
            "exec 0 sleep",
            "\"status\": \"running\"",
            "0"
        ],
        "{text}"
    );
    assert!(
        !Path::new("/run/rt").join(&id).exists(),
        "state went to /run/rt, not XDG_RUNTIME_DIR"
    );
    assert!(
        cgroup_dirs_named(&id).is_empty(),
        "{:?}",
        cgroup_dirs_named(&id)
    );
}
