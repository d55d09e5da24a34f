//! Every version-vector file passes, in both directions.

#![allow(clippy::unwrap_used, clippy::print_stderr, clippy::print_stdout)]

use std::cmp::Ordering;
use std::path::PathBuf;

use stella_version::{Scheme, parse_vectors};

fn check(file: &str, scheme: Scheme) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("testdata/vectors")
        .join(file);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let cases = parse_vectors(&text).unwrap();
    assert!(!cases.is_empty(), "{file} has no cases");
    let mut failures = Vec::new();
    for c in &cases {
        let fwd = scheme.compare(&c.a, &c.b);
        let back = scheme.compare(&c.b, &c.a);
        match (fwd, back) {
            (Ok(f), Ok(b)) if f == c.expected && b == c.expected.reverse() => {}
            (f, b) => failures.push(format!(
                "{file}:{}: {} {} {}: got {:?} / reverse {:?}",
                c.line,
                c.a,
                match c.expected {
                    Ordering::Less => "<",
                    Ordering::Equal => "=",
                    Ordering::Greater => ">",
                },
                c.b,
                f,
                b
            )),
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

#[test]
fn alpine() {
    check("alpine-versions.txt", Scheme::Apk);
}
#[test]
fn cran() {
    check("cran-versions.txt", Scheme::Cran);
}
#[test]
fn debian() {
    check("debian-versions.txt", Scheme::Dpkg);
}
#[test]
fn hackage() {
    check("hackage-versions.txt", Scheme::Hackage);
}
#[test]
fn maven() {
    check("maven-versions.txt", Scheme::Maven);
}
#[test]
fn nuget() {
    check("nuget-versions.txt", Scheme::NuGet);
}
#[test]
fn packagist() {
    check("packagist-versions.txt", Scheme::Packagist);
}
#[test]
fn pub_dart() {
    check("pub-versions.txt", Scheme::Pub);
}
#[test]
fn pypi() {
    check("pypi-versions.txt", Scheme::Pep440);
}
#[test]
fn redhat() {
    check("redhat-versions.txt", Scheme::Rpm);
}
#[test]
fn rubygems() {
    check("rubygems-versions.txt", Scheme::RubyGems);
}
#[test]
fn semver() {
    check("semver-versions.txt", Scheme::SemVer);
}
