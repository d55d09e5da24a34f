//! CVSS v4.0 scores against Red Hat's reference `cvss` Python library (the calculator's
//! authors), on base vectors covering every metric value and on threat/environmental ones.

#![allow(clippy::unwrap_used, clippy::print_stderr)]

use std::io::Write as _;
use std::process::{Command, Stdio};

use stella_advisory::cvss4::v4_score;

const BASE: &[(&str, &[&str])] = &[
    ("AV", &["N", "A", "L", "P"]),
    ("AC", &["L", "H"]),
    ("AT", &["N", "P"]),
    ("PR", &["N", "L", "H"]),
    ("UI", &["N", "P", "A"]),
    ("VC", &["H", "L", "N"]),
    ("VI", &["H", "L", "N"]),
    ("VA", &["H", "L", "N"]),
    ("SC", &["H", "L", "N"]),
    ("SI", &["H", "L", "N"]),
    ("SA", &["H", "L", "N"]),
];
const EXTRA: &[(&str, &[&str])] = &[
    ("E", &["X", "A", "P", "U"]),
    ("CR", &["X", "H", "M", "L"]),
    ("IR", &["X", "H", "M", "L"]),
    ("AR", &["X", "H", "M", "L"]),
    ("MAV", &["X", "N", "A", "L", "P"]),
    ("MAC", &["X", "L", "H"]),
    ("MAT", &["X", "N", "P"]),
    ("MPR", &["X", "N", "L", "H"]),
    ("MUI", &["X", "N", "P", "A"]),
    ("MVC", &["X", "H", "L", "N"]),
    ("MVI", &["X", "H", "L", "N"]),
    ("MVA", &["X", "H", "L", "N"]),
    ("MSC", &["X", "H", "L", "N"]),
    ("MSI", &["X", "S", "H", "L", "N"]),
    ("MSA", &["X", "S", "H", "L", "N"]),
];

/// Every base vector (4·2·2·3·3·3⁶ = 104,976) is too many for the Python side in a test run;
/// a fixed stride through them plus pseudo-random threat/environmental vectors covers
/// every MacroVector.
fn vectors() -> Vec<String> {
    let total: usize = BASE.iter().map(|(_, v)| v.len()).product();
    let mut out = Vec::new();
    let mut i = 0;
    while i < total {
        let mut n = i;
        let mut s = String::from("CVSS:4.0");
        for (m, vals) in BASE {
            s.push_str(&format!("/{m}:{}", vals[n % vals.len()]));
            n /= vals.len();
        }
        out.push(s);
        // STELLA_CVSS4_ALL=1 checks all of them (about a minute)
        i += if std::env::var_os("STELLA_CVSS4_ALL").is_some() {
            1
        } else {
            13
        };
    }
    let mut x: u64 = 0x5EED;
    let mut next = |k: usize| {
        x = x
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((x >> 33) as usize) % k
    };
    for _ in 0..if std::env::var_os("STELLA_CVSS4_ALL").is_some() {
        100_000
    } else {
        4000
    } {
        let mut s = String::from("CVSS:4.0");
        for (m, vals) in BASE.iter().chain(EXTRA) {
            let v = vals[next(vals.len())];
            if v != "X" {
                s.push_str(&format!("/{m}:{v}"));
            }
        }
        out.push(s);
    }
    out
}

#[test]
fn v4_scores_match_the_reference_library() {
    let have = Command::new("python3")
        .args(["-c", "import cvss; cvss.CVSS4"])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if !have {
        assert!(
            std::env::var_os("STELLA_REQUIRE_VALIDATORS").is_none(),
            "the Python `cvss` library is required here (pip install cvss)"
        );
        eprintln!("SKIP: python3 with the `cvss` library is absent (pip install cvss)");
        return;
    }
    let vs = vectors();
    let mut child = Command::new("python3")
        .args([
            "-c",
            "import sys\nfrom cvss import CVSS4\nfor l in sys.stdin:\n    print(CVSS4(l.strip()).base_score)",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    // feed stdin from a thread: the scores come back while we write, and a full stdout pipe
    // would otherwise stall both sides
    let mut stdin = child.stdin.take().unwrap();
    let input = vs.join("\n");
    let writer = std::thread::spawn(move || {
        stdin.write_all(input.as_bytes()).unwrap();
        stdin.write_all(b"\n").unwrap();
    });
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    assert!(out.status.success());
    let want: Vec<f64> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| l.trim().parse().unwrap())
        .collect();
    assert_eq!(want.len(), vs.len());
    let mut wrong = Vec::new();
    for (v, w) in vs.iter().zip(&want) {
        let got = v4_score(v).unwrap();
        if (got - w).abs() > 1e-9 {
            wrong.push(format!("{v}: ours {got}, reference {w}"));
        }
    }
    assert!(
        wrong.is_empty(),
        "{} of {} differ, e.g.:\n{}",
        wrong.len(),
        vs.len(),
        wrong[..wrong.len().min(10)].join("\n")
    );
}
