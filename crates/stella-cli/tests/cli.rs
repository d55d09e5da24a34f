//! End-to-end tests of the `stella` binary.

#![allow(clippy::unwrap_used, clippy::print_stderr, clippy::print_stdout)]

use std::process::Command;

fn stella(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_stella"))
        .args(args)
        .output()
        .expect("run stella");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn compare_prints_the_order() {
    assert_eq!(
        stella(&[
            "version",
            "compare",
            "--ecosystem",
            "Debian",
            "1:1.0",
            "2.0"
        ])
        .1,
        ">\n"
    );
    assert_eq!(
        stella(&[
            "version",
            "compare",
            "-e",
            "Alpine",
            "1.1.1c-r0",
            "1.1.1d-r0"
        ])
        .1,
        "<\n"
    );
    assert_eq!(
        stella(&["version", "compare", "-e", "PyPI", "1.0", "1.0.0"]).1,
        "=\n"
    );
    assert_eq!(
        stella(&[
            "version",
            "compare",
            "-e",
            "Red Hat",
            "0:1.0-1.el9",
            "1.0-1.el9_2"
        ])
        .1,
        "<\n"
    );
}

#[test]
fn bad_input_is_exit_2_with_a_hint() {
    let (code, _, err) = stella(&["version", "compare", "-e", "Cobol", "1", "2"]);
    assert_eq!(code, 2);
    assert!(
        err.contains("unknown ecosystem `Cobol`") && err.contains("hint:"),
        "{err}"
    );
    let (code, _, err) = stella(&["version", "compare", "-e", "Debian", "1:", "2"]);
    assert_eq!(code, 2);
    assert!(err.contains("invalid Debian version `1:`"), "{err}");
}

#[test]
fn check_counts_and_fails() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("v.txt");
    std::fs::write(
        &f,
        "# comment\n// other\n\n1.0 < 2.0\n2.0 < 1.0\n1.0 = 1.0\n",
    )
    .unwrap();
    let (code, out, _) = stella(&[
        "version",
        "compare",
        "-e",
        "semver",
        "--check",
        f.to_str().unwrap(),
    ]);
    assert_eq!(code, 1);
    assert!(out.ends_with("2 passed, 1 failed\n"), "{out}");
    assert!(out.contains(":5: 2.0 < 1.0 (got >)"), "{out}");
}

#[test]
fn check_shared_vectors_when_present() {
    let dir = std::env::var("STELLA_SHARED_DATA").unwrap_or_else(|_| "../../../shared/data".into());
    let vectors = std::path::Path::new(&dir).join("version-vectors");
    if !vectors.is_dir() {
        eprintln!(
            "SKIP: {} is absent; set STELLA_SHARED_DATA to run this test",
            vectors.display()
        );
        return;
    }
    for (file, eco) in [
        ("alpine", "Alpine"),
        ("cran", "CRAN"),
        ("debian", "Debian"),
        ("hackage", "Hackage"),
        ("maven", "Maven"),
        ("nuget", "NuGet"),
        ("packagist", "Packagist"),
        ("pub", "Pub"),
        ("pypi", "PyPI"),
        ("redhat", "Red Hat"),
        ("rubygems", "RubyGems"),
        ("semver", "semver"),
    ] {
        let p = vectors.join(format!("{file}-versions.txt"));
        let (code, out, err) = stella(&[
            "version",
            "compare",
            "-e",
            eco,
            "--check",
            p.to_str().unwrap(),
        ]);
        assert_eq!(code, 0, "{file}: {out}{err}");
        assert!(out.trim_end().ends_with(" 0 failed"), "{out}");
    }
}
