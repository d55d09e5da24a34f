//! The rpm cataloger on a real `rpmdb.sqlite` made here with Debian's `rpm` and `rpmbuild`
//! (packages with epochs, a module label, headers big enough to need overflow pages, and
//! enough rows for interior b-tree pages), checked against `rpm -qa` on the same database.

#![allow(clippy::unwrap_used, clippy::print_stderr)]

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

use stella_catalog::Cataloger as _;
use stella_catalog::rpm::Rpm;

fn have(tool: &str) -> bool {
    Command::new(tool)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

fn build_db(dir: &Path) -> std::path::PathBuf {
    let top = dir.join("build");
    let specs = top.join("SPECS");
    std::fs::create_dir_all(&specs).unwrap();
    let db = dir.join("db");
    std::fs::create_dir_all(&db).unwrap();
    assert!(
        Command::new("rpm")
            .arg("--dbpath")
            .arg(&db)
            .arg("--initdb")
            .status()
            .unwrap()
            .success()
    );
    let big = "A long description line that makes this header larger than one page.\n".repeat(200);
    let mut rpms = Vec::new();
    for i in 0..45 {
        let (epoch, module, desc) = match i {
            0 => ("Epoch: 2\n", "", big.as_str()),
            1 => (
                "",
                "%global modularitylabel nodejs:18:8090020231128:a75119d5\nModularityLabel: %{modularitylabel}\n",
                "x",
            ),
            _ => ("", "", "x"),
        };
        let spec = format!(
            "Name: pkg{i}\nVersion: 1.{i}\nRelease: {i}.el9\n{epoch}Summary: test\nLicense: MIT\nBuildArch: noarch\n{module}%description\n{desc}\n%files\n"
        );
        let sp = specs.join(format!("pkg{i}.spec"));
        std::fs::write(&sp, spec).unwrap();
        let out = Command::new("rpmbuild")
            .arg("--define")
            .arg(format!("_topdir {}", top.display()))
            .arg("-bb")
            .arg(&sp)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        rpms.push(top.join(format!("RPMS/noarch/pkg{i}-1.{i}-{i}.el9.noarch.rpm")));
    }
    let out = Command::new("rpm")
        .arg("--dbpath")
        .arg(&db)
        .args(["-i", "--justdb", "--nodeps", "--noscripts"])
        .args(&rpms)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    db
}

#[test]
fn rpmdb_sqlite_matches_rpm_qa() {
    if !have("rpm") || !have("rpmbuild") {
        eprintln!("SKIP: rpm and rpmbuild are not installed (apt-get install rpm)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let db = build_db(dir.path());
    let bytes = std::fs::read(db.join("rpmdb.sqlite")).unwrap();
    let ours: BTreeSet<(String, String, String, String)> = Rpm
        .parse("var/lib/rpm/rpmdb.sqlite", &bytes)
        .unwrap()
        .into_iter()
        .map(|p| {
            (
                p.name,
                p.version,
                p.arch.unwrap_or_default(),
                p.source_name.unwrap_or_default(),
            )
        })
        .collect();
    let out = Command::new("rpm")
        .arg("--dbpath")
        .arg(&db)
        .args([
            "-qa",
            "--qf",
            "%{NAME}\\t%|EPOCH?{%{EPOCH}:}:{}|%{VERSION}-%{RELEASE}\\t%{ARCH}\\t%{SOURCERPM}\\n",
        ])
        .output()
        .unwrap();
    let truth: BTreeSet<(String, String, String, String)> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            let src = stella_catalog::rpm::split_source_rpm(f[3]).unwrap().0;
            (f[0].into(), f[1].into(), f[2].into(), src)
        })
        .collect();
    assert_eq!(truth.len(), 45);
    assert_eq!(ours, truth);
    // the same headers in an NDB database (SUSE's format; Debian's rpm cannot write one, so it
    // is written here exactly as rpm's rpmpkg.c lays it out) read back the same
    let db = stella_catalog::sqlite::Db::new(&bytes).unwrap();
    let root = db.table_root("Packages").unwrap().unwrap();
    let blobs: Vec<Vec<u8>> = db
        .rows(root)
        .unwrap()
        .into_iter()
        .filter_map(|(_, row)| match row.get(1) {
            Some(stella_catalog::sqlite::Value::Blob(b)) => Some(b.clone()),
            _ => None,
        })
        .collect();
    let ndb = stella_catalog::ndb::write(&blobs);
    let from_ndb: BTreeSet<(String, String, String, String)> = Rpm
        .parse("usr/lib/sysimage/rpm/Packages.db", &ndb)
        .unwrap()
        .into_iter()
        .map(|p| {
            (
                p.name,
                p.version,
                p.arch.unwrap_or_default(),
                p.source_name.unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(from_ndb, truth);
    let all = Rpm.parse("var/lib/rpm/rpmdb.sqlite", &bytes).unwrap();
    let m = all.iter().find(|p| p.name == "pkg1").unwrap();
    assert_eq!(m.module.as_deref(), Some("nodejs:18"));
    // truncations and bit flips are errors, never panics
    for cut in [100, 4096, bytes.len() / 2, bytes.len() - 1] {
        let _ = Rpm.parse("var/lib/rpm/rpmdb.sqlite", &bytes[..cut]);
    }
    let mut flipped = bytes.clone();
    for i in (0..flipped.len()).step_by(997) {
        flipped[i] ^= 0x5a;
    }
    let _ = Rpm.parse("var/lib/rpm/rpmdb.sqlite", &flipped);
}

#[test]
fn berkeley_db_packages_match_rpm_qa() {
    let dir = std::env::var("STELLA_SHARED_DATA").unwrap_or_else(|_| "../../../shared/data".into());
    let p = Path::new(&dir)
        .join("pkgdb-fixtures/osv-scalibr/extractor/filesystem/os/rpm/testdata/Packages_epoch");
    if !p.is_file() {
        eprintln!("SKIP: {} is absent", p.display());
        return;
    }
    let bytes = std::fs::read(&p).unwrap();
    let got = Rpm.parse("var/lib/rpm/Packages", &bytes).unwrap();
    let ours: Vec<(String, String, String, String)> = got
        .iter()
        .map(|p| {
            (
                p.name.clone(),
                p.version.clone(),
                p.arch.clone().unwrap_or_default(),
                p.source_name.clone().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(
        ours,
        [(
            "hello".to_string(),
            "1:0.0.1-rls".to_string(),
            "x86_64".to_string(),
            "hello".to_string()
        )]
    );
    // and rpm's own read-only Berkeley DB backend agrees, when rpm is here
    if have("rpm") {
        let d = tempfile::tempdir().unwrap();
        std::fs::copy(&p, d.path().join("Packages")).unwrap();
        let out = Command::new("rpm")
            .arg("--dbpath")
            .arg(d.path())
            .args([
                "--define",
                "_db_backend bdb_ro",
                "-qa",
                "--qf",
                "%{NAME} %{EPOCH}:%{VERSION}-%{RELEASE} %{ARCH}\\n",
            ])
            .output()
            .unwrap();
        assert_eq!(
            String::from_utf8_lossy(&out.stdout).trim(),
            "hello 1:0.0.1-rls x86_64"
        );
    }
    // damaged copies are errors, not panics
    for cut in [0, 100, 4096, bytes.len() - 1] {
        let _ = Rpm.parse("var/lib/rpm/Packages", &bytes[..cut]);
    }
    let mut flipped = bytes.clone();
    for i in (0..flipped.len()).step_by(331) {
        flipped[i] ^= 0xa5;
    }
    let _ = Rpm.parse("var/lib/rpm/Packages", &flipped);
}
