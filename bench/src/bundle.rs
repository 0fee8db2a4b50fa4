//! The OCI bundles: one shared busybox rootfs, one directory per container id holding only
//! config.json (its cgroupsPath names the container).

use anyhow::{Context, Result, bail};
use serde_json::{Value, json};
use std::fs;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// A rootfs of one static busybox. The mount points of the default spec exist up front so
/// that concurrent containers sharing this rootfs do not race to create them.
pub fn make_rootfs(dir: &Path, busybox: &Path) -> Result<PathBuf> {
    let rootfs = dir.join("rootfs");
    for d in ["bin", "proc", "sys", "dev", "tmp"] {
        fs::create_dir_all(rootfs.join(d))
            .with_context(|| format!("creating {}", rootfs.join(d).display()))?;
    }
    fs::copy(busybox, rootfs.join("bin/busybox"))
        .with_context(|| format!("copying {} into the rootfs", busybox.display()))?;
    for applet in ["true", "sh", "sleep"] {
        symlink("busybox", rootfs.join("bin").join(applet))
            .with_context(|| format!("linking bin/{applet} to busybox"))?;
    }
    Ok(rootfs)
}

/// runc's default spec, as `runc spec` writes it.
pub fn runc_default_spec(runc: &Path, dir: &Path) -> Result<Value> {
    fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let out = Command::new(runc)
        .arg("spec")
        .current_dir(dir)
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("running {} spec", runc.display()))?;
    if !out.status.success() {
        bail!(
            "{} spec failed: {}",
            runc.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    let path = dir.join("config.json");
    let text = fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))
}

/// The default spec for one container: `args` as the process, no terminal (the benchmark
/// has no tty to give it), the shared rootfs, and its own cgroup.
pub fn container_spec(
    base: &Value,
    rootfs: &Path,
    args: &[&str],
    cgroups_path: &str,
) -> Result<Value> {
    let mut spec = base.clone();
    let obj = |v: &mut Value, key: &str| -> Result<()> {
        match v.get(key) {
            Some(Value::Object(_)) => Ok(()),
            None => {
                v[key] = json!({});
                Ok(())
            }
            Some(_) => bail!("config.json: {key} is not an object"),
        }
    };
    if !spec.is_object() {
        bail!("config.json is not a JSON object");
    }
    obj(&mut spec, "process")?;
    obj(&mut spec, "root")?;
    obj(&mut spec, "linux")?;
    spec["process"]["args"] = json!(args);
    spec["process"]["terminal"] = json!(false);
    spec["root"]["path"] = json!(rootfs.to_string_lossy());
    spec["linux"]["cgroupsPath"] = json!(cgroups_path);
    Ok(spec)
}

pub fn write_bundle(dir: &Path, spec: &Value) -> Result<()> {
    fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let text = serde_json::to_string_pretty(spec).context("serializing config.json")?;
    let path = dir.join("config.json");
    fs::write(&path, text).with_context(|| format!("writing {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spec_fields_set() {
        let base = json!({"process": {"terminal": true, "args": ["sh"]}, "root": {"path": "rootfs", "readonly": true}});
        let s =
            container_spec(&base, Path::new("/t/rootfs"), &["/bin/true"], "/p/b-rt-run").unwrap();
        assert_eq!(s["process"]["args"], json!(["/bin/true"]));
        assert_eq!(s["process"]["terminal"], json!(false));
        assert_eq!(s["root"]["path"], json!("/t/rootfs"));
        assert_eq!(s["root"]["readonly"], json!(true));
        assert_eq!(s["linux"]["cgroupsPath"], json!("/p/b-rt-run"));
        assert!(container_spec(&json!([]), Path::new("/r"), &[], "/c").is_err());
        assert!(container_spec(&json!({"root": 1}), Path::new("/r"), &[], "/c").is_err());
    }
}
