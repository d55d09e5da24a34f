//! Loading errors and evaluation, rule by rule.

use std::sync::Arc;

use stella_match::{Eco, Finding, FindingData, Found, MatchDetails, Pkg, Searched, VexNote};

use super::*;

fn finding(id: &str, sev: &str, purl: &str, fixed: &[&str]) -> Finding {
    let (name, version) = purl
        .rsplit_once('/')
        .map(|(_, nv)| nv.split_once('@').unwrap_or((nv, "")))
        .unwrap_or(("", ""));
    let data = FindingData {
        vulnerability_id: id.into(),
        aliases: vec![format!("GHSA-{id}")].into(),
        severity: sev.to_string().into(),
        score: Some(7.5),
        severity_source: None,
        cvss: Vec::new().into(),
        epss: Some(0.2),
        kev: false,
        fixed_versions: fixed.iter().map(|s| s.to_string()).collect(),
        status: if fixed.is_empty() {
            "not-fixed"
        } else {
            "fixed"
        }
        .into(),
        summary: None,
        match_details: MatchDetails {
            kind: "distro".into(),
            searched_by: Searched {
                namespace: "debian:12".into(),
                name: name.into(),
                version: version.into(),
            },
            found: vec![Arc::new(Found {
                advisory: id.into(),
                feed: "f".into(),
                ranges: vec![],
            })]
            .into(),
            source: "distro".into(),
        },
        published: Some("2026-01-01T00:00:00Z".into()),
    };
    Finding::new(
        data,
        Arc::new(Pkg {
            eco: Eco::Deb,
            kind: "deb".into(),
            name: name.into(),
            version: version.split('?').next().unwrap_or("").into(),
            purl: Some(purl.into()),
            source_name: None,
            arch: None,
            module: None,
            layer: Some("sha256:app".into()),
            location: None,
        }),
    )
}

fn load(y: &str) -> Result<Policy, Error> {
    Policy::from_yaml(y, "p.yaml", &LoadOptions::default())
}

fn err(y: &str) -> String {
    load(y).unwrap_err().to_string()
}

const DESIGN_EXAMPLE: &str = r#"version: 1
rules:
  - id: no-fixable-criticals
    action: deny                 # deny | warn | ignore
    when: { severity: ">= critical", fixAvailable: true }
    message: "{vulnerabilityId} in {package}: upgrade to {fixedVersion}"
mutes:
  - vulnerability: CVE-2023-1234
    package: "pkg:deb/debian/openssl*"
    until: 2026-12-31
    reason: "not reachable from the entrypoint"
"#;

fn ctx(today: &str) -> Context {
    Context {
        today: epoch_days(today).unwrap(),
        ..Context::default()
    }
}

#[test]
fn the_design_example_loads_and_decides() {
    let p = load(DESIGN_EXAMPLE).unwrap();
    let mut f = vec![
        finding(
            "CVE-2023-1234",
            "critical",
            "pkg:deb/debian/openssl@3.0.1",
            &["3.0.2"],
        ),
        finding(
            "CVE-2023-9999",
            "critical",
            "pkg:deb/debian/curl@7.0",
            &["7.1"],
        ),
        finding("CVE-2023-8888", "critical", "pkg:deb/debian/zlib@1.0", &[]),
        finding("CVE-2023-7777", "high", "pkg:deb/debian/bash@5.0", &["5.1"]),
    ];
    let v = evaluate(&p, &mut f, &ctx("2026-11-29"));
    assert_eq!(v.status, "FAIL");
    assert_eq!(v.details.len(), 1);
    assert_eq!(
        v.details[0].message,
        "CVE-2023-9999 in curl: upgrade to 7.1"
    );
    assert_eq!(
        v.reasons,
        ["rule `no-fixable-criticals` (deny): 1 finding(s)"]
    );
    let muted = f[0].policy.as_ref().unwrap();
    assert_eq!(
        (muted.action.as_str(), muted.until.as_deref()),
        ("muted", Some("2026-12-31"))
    );
    assert!(f[2].policy.is_none() && f[3].policy.is_none());
    // a month later the mute has expired: it no longer applies, and the verdict says so
    let v = evaluate(&p, &mut f, &ctx("2027-01-01"));
    assert_eq!(v.details.len(), 2);
    assert!(
        v.reasons
            .iter()
            .any(|r| r.contains("CVE-2023-1234") && r.contains("expired on 2026-12-31")),
        "{:?}",
        v.reasons
    );
    // the day before still holds; on the `until` day it no longer does
    let v = evaluate(&p, &mut f, &ctx("2026-12-30"));
    assert_eq!(v.details.len(), 1);
    let v = evaluate(&p, &mut f, &ctx("2026-12-31"));
    assert_eq!(v.details.len(), 2);
}

#[test]
fn first_matching_rule_decides_and_verdicts_rank() {
    let p = load(
        r#"version: 1
rules:
  - id: accept-test-images
    action: ignore
    when: { image: "registry.example.com/test/*" }
  - id: kev
    action: deny
    when: { kev: true }
  - id: highs
    action: warn
    when: { severity: ">= high" }
"#,
    )
    .unwrap();
    let mut f = vec![
        finding("CVE-1", "high", "pkg:deb/debian/a@1", &[]),
        finding("CVE-2", "low", "pkg:deb/debian/b@1", &[]),
    ];
    let mut c = ctx("2026-11-29");
    let v = evaluate(&p, &mut f, &c);
    assert_eq!((v.status.as_str(), v.details.len()), ("WARN", 1));
    f[1].kev = true;
    assert_eq!(evaluate(&p, &mut f, &c).status, "FAIL");
    c.image = Some("registry.example.com/test/app:1".into());
    let v = evaluate(&p, &mut f, &c);
    assert_eq!(v.status, "PASS");
    assert!(
        f.iter()
            .all(|x| x.policy.as_ref().unwrap().action == "ignore")
    );
    // VEX-set-aside findings never count
    c.image = None;
    for x in &mut f {
        x.vex = Some(VexNote {
            status: "not_affected".into(),
            justification: None,
            document: "v.json".into(),
        });
    }
    assert_eq!(evaluate(&p, &mut f, &c).status, "PASS");
}

#[test]
fn every_condition() {
    let one = |when: &str, f: &Finding, c: &Context| {
        let p = load(&format!(
            "version: 1\nrules:\n  - id: r\n    action: deny\n    when: {when}\n"
        ))
        .unwrap();
        evaluate(&p, &mut [f.clone()], c).status == "FAIL"
    };
    let f = finding(
        "CVE-2026-1",
        "medium",
        "pkg:deb/debian/openssl@3.0.1?arch=amd64",
        &["3.0.2"],
    );
    let c = ctx("2026-03-02");
    assert!(one(r#"{ severity: medium }"#, &f, &c));
    assert!(!one(r#"{ severity: "> medium" }"#, &f, &c));
    assert!(one(r#"{ cvss: ">= 7.5" }"#, &f, &c));
    assert!(!one(r#"{ cvss: 8 }"#, &f, &c), "a bare number means >=");
    assert!(one(r#"{ epss: "< 0.5" }"#, &f, &c));
    assert!(one(r#"{ kev: false, fixAvailable: true }"#, &f, &c));
    assert!(one(r#"{ vulnerability: "CVE-2026-*" }"#, &f, &c));
    assert!(
        one(r#"{ vulnerabilities: [GHSA-CVE-2026-1] }"#, &f, &c),
        "aliases count"
    );
    assert!(one(r#"{ package: "pkg:deb/debian/openssl@*" }"#, &f, &c));
    assert!(
        one(r#"{ package: "pkg:deb/debian/openssl" }"#, &f, &c),
        "a purl without a version names every version"
    );
    assert!(!one(r#"{ package: "pkg:deb/debian/openss" }"#, &f, &c));
    assert!(one(r#"{ packageType: [rpm, deb] }"#, &f, &c));
    assert!(one(r#"{ age: ">= 60d" }"#, &f, &c));
    assert!(!one(r#"{ age: "> 60d" }"#, &f, &c));
    assert!(one(r#"{ layer: application }"#, &f, &c));
    assert!(!one(r#"{ image: "*" }"#, &f, &c), "no image, no match");
    let mut base = c.clone();
    base.base_layers.insert("sha256:app".into());
    assert!(one(r#"{ layer: base }"#, &f, &base));
    assert!(one("{}", &f, &c), "no conditions: every finding");
}

#[test]
fn bad_policies_say_what_and_where() {
    let e = err("version: 1\nrules:\n  - id: a\n    action: deny\n    wehn: {}\n");
    assert!(
        e.starts_with("p.yaml:5:5: ") && e.contains("unknown field `wehn`"),
        "{e}"
    );
    let e = err("version: 1\nrules:\n  - id: a\n    action: block\n");
    assert!(e.starts_with("p.yaml:4:13: ") && e.contains("block"), "{e}");
    let e = err(
        "version: 1\nrules:\n  - id: a\n    action: deny\n    when: { package: \"pkg:[deb\" }\n",
    );
    assert!(
        e.starts_with("p.yaml:5:") && e.contains("bad pattern"),
        "{e}"
    );
    let e = err(
        "version: 1\nrules:\n  - id: a\n    action: deny\n    when:\n      severity: \">= severe\"\n",
    );
    assert!(
        e.starts_with("p.yaml:6:21: ") && e.contains("not a severity"),
        "{e}"
    );
    let e =
        err("version: 1\nmutes:\n  - vulnerability: CVE-1\n    until: 2026-02-30\n    reason: r\n");
    assert!(
        e.starts_with("p.yaml:4:12: ") && e.contains("not a date"),
        "{e}"
    );
    let e = err("version: 1\nrules:\n  - id: a\n    action: deny\n    message: \"{pkg}\"\n");
    assert!(e.contains("unknown placeholder `{pkg}`"), "{e}");
    let e = err("version: 1\nrules:\n  - {id: a, action: deny}\n  - {id: a, action: warn}\n");
    assert!(e.contains("`a` is used twice"), "{e}");
    let e = err("version: 2\n");
    assert!(e.contains("version 2 is not supported"), "{e}");
    let e = err("version: 1\nmutes:\n  - vulnerability: CVE-1\n    reason: \" \"\n");
    assert!(e.contains("`reason` is empty"), "{e}");
    let e = err("rules: [\n");
    assert!(e.starts_with("p.yaml:"), "{e}");
    let strict = LoadOptions {
        require_mute_expiry: true,
    };
    let e = Policy::from_yaml(
        "version: 1\nmutes:\n  - vulnerability: CVE-1\n    reason: r\n",
        "p.yaml",
        &strict,
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("no `until`"), "{e}");
}

#[test]
fn days() {
    assert_eq!(epoch_days("1970-01-01"), Some(0));
    assert_eq!(epoch_days("2000-03-01T00:00:00Z"), Some(11_017));
    assert_eq!(epoch_days("2024-02-29"), Some(19_782));
    assert_eq!(epoch_days("2023-02-29"), None);
    assert_eq!(epoch_days("2026-13-01"), None);
    assert_eq!(epoch_days("soon"), None);
}

proptest::proptest! {
    #[test]
    fn loading_never_panics(s in "\\PC{0,200}") {
        let _ = Policy::from_yaml(&s, "p", &LoadOptions::default());
    }
}

#[test]
fn every_yaml_example_in_the_docs_loads() {
    let doc = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/policy.md");
    let text = std::fs::read_to_string(&doc).unwrap();
    let blocks: Vec<&str> = text
        .split("```yaml\n")
        .skip(1)
        .map(|b| b.split("```").next().unwrap())
        .collect();
    assert!(blocks.len() >= 2, "no examples found in {}", doc.display());
    for b in blocks {
        let p = Policy::from_yaml(b, "docs/policy.md", &LoadOptions::default())
            .unwrap_or_else(|e| panic!("{e}\n{b}"));
        assert!(!p.rules.is_empty());
    }
}

mod rego_policies {
    use super::*;

    fn set(yaml: Option<&str>, rego: &[&str]) -> PolicySet {
        PolicySet {
            yaml: yaml.map(|y| load(y).unwrap()),
            runner: rego::Runner::InProcess,
            rego: rego
                .iter()
                .enumerate()
                .map(|(i, r)| RegoPolicy::new(r, &format!("p{i}.rego")).unwrap())
                .collect(),
        }
    }

    fn findings() -> Vec<Finding> {
        vec![
            finding(
                "CVE-1",
                "critical",
                "pkg:deb/debian/openssl@3.0.1",
                &["3.0.2"],
            ),
            finding("CVE-2", "high", "pkg:deb/debian/curl@7.0", &[]),
            finding("CVE-3", "low", "pkg:deb/debian/zlib@1.0", &[]),
        ]
    }

    const V1: &str = r#"package stella.policy

deny contains msg if {
    some f in input.findings
    f.severity == "critical"
    msg := sprintf("%s in %s is critical", [f.vulnerabilityId, f.package.name])
}

warn contains {"msg": "high", "vulnerabilityId": f.vulnerabilityId, "package": f.package.purl} if {
    some f in input.findings
    f.severity == "high"
}

ignore contains "CVE-3"
"#;

    #[test]
    fn deny_warn_and_ignore() {
        let mut f = findings();
        let v = evaluate_set(&set(None, &[V1]), &mut f, &ctx("2026-11-29")).unwrap();
        assert_eq!(v.status, "FAIL");
        assert_eq!(v.details.len(), 2);
        assert_eq!(v.details[0].message, "CVE-1 in openssl is critical");
        assert_eq!(v.details[0].rule, "rego:p0.rego");
        assert_eq!(
            (
                v.details[1].action.as_str(),
                v.details[1].vulnerability_id.as_str()
            ),
            ("warn", "CVE-2")
        );
        assert_eq!(f[2].policy.as_ref().unwrap().action, "ignore");
        // v0 syntax is read too
        let v0 = "package stella.policy\nwarn[msg] { f := input.findings[_]; f.severity == \"low\"; msg := f.key }\n";
        let mut f = findings();
        let v = evaluate_set(&set(None, &[v0]), &mut f, &ctx("2026-11-29")).unwrap();
        assert_eq!(v.status, "WARN");
        assert_eq!(v.details[0].message, "CVE-3|pkg:deb/debian/zlib@1.0");
    }

    #[test]
    fn yaml_and_rego_together() {
        // the YAML mute hides CVE-1 from Rego; Rego's ignore takes CVE-3 from the YAML rules
        let yaml = "version: 1\nrules:\n  - {id: any, action: warn}\nmutes:\n  - {vulnerability: CVE-1, reason: r}\n";
        let mut f = findings();
        let v = evaluate_set(&set(Some(yaml), &[V1]), &mut f, &ctx("2026-11-29")).unwrap();
        assert_eq!(v.status, "WARN", "{v:?}");
        assert_eq!(f[0].policy.as_ref().unwrap().action, "muted");
        assert_eq!(f[1].policy.as_ref().unwrap().action, "warn");
        assert_eq!(f[2].policy.as_ref().unwrap().action, "ignore");
        // any deny from either fails
        let deny_all =
            "package stella.policy\ndeny contains \"no\" if { count(input.findings) > 0 }\n";
        let mut f = findings();
        let v = evaluate_set(&set(Some(yaml), &[deny_all]), &mut f, &ctx("2026-11-29")).unwrap();
        assert_eq!(v.status, "FAIL");
        assert!(
            v.reasons
                .contains(&"rule `rego:p0.rego` (deny): 1 finding(s)".to_string()),
            "{:?}",
            v.reasons
        );
    }

    #[test]
    fn bad_rego_is_an_error() {
        let e = RegoPolicy::new("package other\ndeny contains 1\n", "x.rego")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("x.rego") && e.contains("package stella.policy"),
            "{e}"
        );
        let e = RegoPolicy::new("package stella.policy\ndeny contains if {\n", "x.rego")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("x.rego"), "{e}");
        // an evaluation that runs too long is stopped and reported, never a PASS
        let slow = "package stella.policy\ndeny contains n if {\n  n := count([x | some a in numbers.range(1, 3000); some b in numbers.range(1, 3000); x := a * b])\n  n < 0\n}\n";
        let mut p = RegoPolicy::new(slow, "slow.rego").unwrap();
        p.time_limit = std::time::Duration::from_millis(50);
        let e = p.evaluate("{\"findings\": []}").unwrap_err().to_string();
        assert!(e.contains("slow.rego") && e.contains("stopped"), "{e}");
        // a builtin misused is an error, not a silently undefined rule
        let bad = "package stella.policy\ndeny contains x if { x := regex.match(\"(\", \"a\") }\n";
        let p = RegoPolicy::new(bad, "bad.rego").unwrap();
        assert!(p.evaluate("{}").is_err());
    }
}

#[test]
fn every_rego_example_in_the_docs_loads_and_runs() {
    let doc = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/policy.md");
    let text = std::fs::read_to_string(&doc).unwrap();
    let blocks: Vec<&str> = text
        .split("```rego\n")
        .skip(1)
        .map(|b| b.split("```").next().unwrap())
        .collect();
    assert!(blocks.len() >= 2, "no Rego examples in {}", doc.display());
    let mut f = vec![
        finding("CVE-9", "critical", "pkg:npm/eslint@1.0", &["1.1"]),
        finding("CVE-8", "high", "pkg:npm/left-pad@1.0", &[]),
    ];
    f[0].kev = true;
    let input = rego_input(&f, &ctx("2026-11-29")).unwrap();
    for b in blocks {
        let p = RegoPolicy::new(b, "docs/policy.md").unwrap_or_else(|e| panic!("{e}\n{b}"));
        let r = p.evaluate(&input).unwrap_or_else(|e| panic!("{e}\n{b}"));
        assert!(
            !(r.deny.is_empty() && r.warn.is_empty() && r.ignore.is_empty()),
            "the example decides nothing about a critical KEV finding:\n{b}"
        );
    }
}

#[test]
fn a_package_pattern_without_a_version_names_every_version() {
    assert_eq!(
        super::unversioned("pkg:pypi/urllib3@1.26.0"),
        "pkg:pypi/urllib3"
    );
    assert_eq!(
        super::unversioned("pkg:deb/debian/openssl@3.0.11-1~deb12u2?arch=amd64&distro=debian-12"),
        "pkg:deb/debian/openssl"
    );
    assert_eq!(
        super::unversioned("pkg:npm/%40babel/core@7.0.0"),
        "pkg:npm/%40babel/core"
    );
    assert_eq!(
        super::unversioned("pkg:golang/github.com/a/b@v1.2.3#sub"),
        "pkg:golang/github.com/a/b"
    );
    assert_eq!(super::unversioned("@babel/core@7.0.0"), "@babel/core");
    assert_eq!(super::unversioned("urllib3@1.26.0"), "urllib3");
    assert_eq!(super::unversioned("pkg:pypi/urllib3"), "pkg:pypi/urllib3");
    let p = load(
        "version: 1\nmutes:\n  - vulnerability: CVE-2023-43804\n    package: pkg:pypi/urllib3\n    reason: not reachable\n",
    )
    .unwrap();
    let mut f = vec![
        finding("CVE-2023-43804", "high", "pkg:pypi/urllib3@1.26.0", &[]),
        finding("CVE-2023-43804", "high", "pkg:pypi/urllib3-extra@1.0", &[]),
    ];
    let v = evaluate(&p, &mut f, &ctx("2026-12-07"));
    assert_eq!(f[0].policy.as_ref().unwrap().action, "muted", "{v:?}");
    assert!(
        f[1].policy.is_none(),
        "another package of a longer name is not muted"
    );
    // an exact version still names that version only
    let p = load(
        "version: 1\nmutes:\n  - vulnerability: CVE-2023-43804\n    package: pkg:pypi/urllib3@1.25.0\n    reason: x\n",
    )
    .unwrap();
    let mut f = vec![finding(
        "CVE-2023-43804",
        "high",
        "pkg:pypi/urllib3@1.26.0",
        &[],
    )];
    evaluate(&p, &mut f, &ctx("2026-12-07"));
    assert!(f[0].policy.is_none());
}
