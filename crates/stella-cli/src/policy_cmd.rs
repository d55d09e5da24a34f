//! `stella policy validate|eval`: checking a policy file, and judging a stored scan result
//! with it.

use std::io::Write as _;
use std::path::Path;

use anyhow::Context as _;

use crate::cli::{PolicyCommand, PolicyEvalArgs, PolicyTestArgs, PolicyValidateArgs};
use crate::exit;

/// `STELLA_REQUIRE_MUTE_EXPIRY=1`: a site that demands every mute expire.
fn load_options() -> stella_policy::LoadOptions {
    stella_policy::LoadOptions {
        require_mute_expiry: std::env::var("STELLA_REQUIRE_MUTE_EXPIRY")
            .is_ok_and(|v| matches!(v.to_ascii_lowercase().as_str(), "1" | "true" | "yes")),
    }
}

fn is_rego(path: &Path) -> bool {
    path.extension().is_some_and(|e| e == "rego")
}

/// Reads and checks policy files: at most one YAML policy and any number of Rego ones, which
/// run in a child process of this binary with limited memory and time.
pub(crate) fn load_set(paths: &[std::path::PathBuf]) -> anyhow::Result<stella_policy::PolicySet> {
    let mut set = stella_policy::PolicySet::default();
    for path in paths {
        if is_rego(path) {
            let text = fs_err::read_to_string(path)?;
            set.rego.push(stella_policy::RegoPolicy::new(
                &text,
                &path.display().to_string(),
            )?);
        } else {
            if set.yaml.is_some() {
                anyhow::bail!(
                    "{}: a second YAML policy; give one YAML policy (and any number of .rego files)",
                    path.display()
                );
            }
            set.yaml = Some(load_with(path, &load_options())?);
        }
    }
    if !set.rego.is_empty() {
        set.runner = sandbox_runner()?;
    }
    Ok(set)
}

/// Rego runs in a child process of this program with 2 GiB and 2 s.
pub(crate) fn sandbox_runner() -> anyhow::Result<stella_policy::rego::Runner> {
    Ok(stella_policy::rego::Runner::Sandbox {
        program: std::env::current_exe()
            .context("cannot find this program to run the Rego sandbox")?,
        args: vec!["__rego-sandbox".into()],
        memory_limit: 2 << 30,
    })
}

fn load_with(
    path: &Path,
    opts: &stella_policy::LoadOptions,
) -> anyhow::Result<stella_policy::Policy> {
    let text = fs_err::read_to_string(path)?;
    Ok(stella_policy::Policy::from_yaml(
        &text,
        &path.display().to_string(),
        opts,
    )?)
}

pub(crate) fn run(c: PolicyCommand) -> anyhow::Result<u8> {
    match c {
        PolicyCommand::Validate(a) => validate(a),
        PolicyCommand::Eval(a) => eval(a),
        PolicyCommand::Test(a) => test(a),
        PolicyCommand::Push(a) => crate::policy_remote::push(a),
        PolicyCommand::Pull(a) => crate::policy_remote::pull(a),
        PolicyCommand::Mute(a) => crate::policy_remote::mute(a),
        PolicyCommand::Unmute(a) => crate::policy_remote::unmute(a),
        PolicyCommand::Mutes(a) => crate::policy_remote::mutes(a),
    }
}

/// What a golden case expects.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Expect {
    status: String,
    #[serde(default)]
    today: Option<String>,
    /// Rule ids that must deny (exactly this set, when given).
    #[serde(default)]
    deny: Option<Vec<String>>,
    /// Rule ids that must warn (exactly this set, when given).
    #[serde(default)]
    warn: Option<Vec<String>>,
    /// Vulnerability ids that must be muted (exactly this set, when given).
    #[serde(default)]
    muted: Option<Vec<String>>,
    /// Vulnerability ids that must be ignored (exactly this set, when given).
    #[serde(default)]
    ignored: Option<Vec<String>>,
}

/// What a policy knows when it judges a stored scan result.
fn stored_context(report: &stella_report::Report, today: i64) -> stella_policy::Context {
    stella_policy::Context {
        today,
        image: (report.target.kind == "image").then(|| report.target.reference.clone()),
        base_layers: Default::default(),
        target: serde_json::to_value(&report.target).unwrap_or_default(),
        // a stored result lists findings, not its SBOM's packages
        sbom: serde_json::Value::Null,
        coverage: report.coverage.clone(),
    }
}

fn test(a: PolicyTestArgs) -> anyhow::Result<u8> {
    use std::collections::BTreeSet;
    let policy = load_set(&a.policy)?;
    let mut names: Vec<String> = fs_err::read_dir(&a.cases)?
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            e.file_name()
                .to_str()
                .and_then(|n| n.strip_suffix(".scan.json"))
                .map(str::to_string)
        })
        .collect();
    names.sort();
    if names.is_empty() {
        anyhow::bail!(
            "{}: no cases (NAME.scan.json with NAME.expect.yaml)",
            a.cases.display()
        );
    }
    let (mut passed, mut failed) = (0usize, 0usize);
    for name in &names {
        let scan_path = a.cases.join(format!("{name}.scan.json"));
        let expect_path = a.cases.join(format!("{name}.expect.yaml"));
        let bytes = crate::sbom_cmd::read_input(&scan_path, 1 << 30)?;
        let mut report: stella_report::Report = serde_json::from_slice(&bytes)
            .with_context(|| format!("{} is not a scan result", scan_path.display()))?;
        let expect: Expect = serde_yaml::from_str(&fs_err::read_to_string(&expect_path)?)
            .with_context(|| format!("{}", expect_path.display()))?;
        let day = expect.today.clone().unwrap_or_else(stella_sbom::now);
        let today = stella_policy::epoch_days(&day)
            .with_context(|| format!("{}: today {day} is not a date", expect_path.display()))?;
        let ctx = stored_context(&report, today);
        let v = stella_policy::evaluate_set(&policy, &mut report.findings, &ctx)?;
        let rules = |action: &str| -> BTreeSet<String> {
            v.details
                .iter()
                .filter(|d| d.action == action)
                .map(|d| d.rule.clone())
                .collect()
        };
        let marked = |action: &str| -> BTreeSet<String> {
            report
                .findings
                .iter()
                .filter(|f| f.policy.as_ref().is_some_and(|p| p.action == action))
                .map(|f| f.vulnerability_id.to_string())
                .collect()
        };
        let mut wrong = Vec::new();
        if v.status != expect.status {
            wrong.push(format!("status {} (expected {})", v.status, expect.status));
        }
        for (what, want, got) in [
            ("deny", &expect.deny, rules("deny")),
            ("warn", &expect.warn, rules("warn")),
            ("muted", &expect.muted, marked("muted")),
            ("ignored", &expect.ignored, marked("ignore")),
        ] {
            if let Some(want) = want {
                let want: BTreeSet<String> = want.iter().cloned().collect();
                if want != got {
                    wrong.push(format!("{what} {got:?} (expected {want:?})"));
                }
            }
        }
        if wrong.is_empty() {
            passed += 1;
            println!("ok    {name}: {}", v.status);
        } else {
            failed += 1;
            println!("FAIL  {name}: {}", wrong.join("; "));
        }
    }
    println!("{passed} passed, {failed} failed");
    Ok(if failed > 0 { exit::FAIL } else { exit::OK })
}

fn validate(a: PolicyValidateArgs) -> anyhow::Result<u8> {
    if is_rego(&a.file) {
        let text = fs_err::read_to_string(&a.file)?;
        stella_policy::RegoPolicy::new(&text, &a.file.display().to_string())?;
        println!("{}: valid Rego (package stella.policy)", a.file.display());
        return Ok(exit::OK);
    }
    let p = load_with(
        &a.file,
        &stella_policy::LoadOptions {
            require_mute_expiry: a.require_mute_expiry || load_options().require_mute_expiry,
        },
    )?;
    println!(
        "{}: valid ({} rule(s), {} mute(s))",
        a.file.display(),
        p.rules.len(),
        p.mutes.len()
    );
    if let Some(scan) = &a.scan {
        let unused = unused_against(&p, scan)?;
        for u in &unused {
            eprintln!("warning: {}: {u}", a.file.display());
        }
        if unused.is_empty() {
            println!(
                "every rule and mute matches a finding of {}",
                scan.display()
            );
        }
    }
    Ok(exit::OK)
}

/// The mutes and rules of `p` that match no finding of the scan result at `scan`, each said
/// with what to check.
fn unused_against(
    p: &stella_policy::Policy,
    scan: &std::path::Path,
) -> anyhow::Result<Vec<String>> {
    let bytes = crate::sbom_cmd::read_input(scan, 1 << 30)?;
    let report: stella_report::Report = serde_json::from_slice(&bytes).with_context(|| {
        format!(
            "{} is not a scan result\nhint: make one with `stella scan TARGET -f json -o scan.json`",
            scan.display()
        )
    })?;
    let today = stella_policy::epoch_days(&stella_sbom::now()).unwrap_or(0);
    let ctx = stored_context(&report, today);
    let mut out = Vec::new();
    // each mute alone: one that mutes nothing here names a vulnerability or package the scan
    // does not have
    for (i, m) in p.mutes.iter().enumerate() {
        let one = stella_policy::Policy {
            version: p.version,
            rules: Vec::new(),
            mutes: vec![m.clone()],
        };
        let mut f = report.findings.clone();
        stella_policy::evaluate(&one, &mut f, &ctx);
        if !f
            .iter()
            .any(|x| x.policy.as_ref().is_some_and(|n| n.action == "muted"))
        {
            out.push(format!(
                "mutes[{i}] ({}{}) matches no finding of {}; check the id and the package (a purl without a version names every version)",
                m.vulnerability.patterns().join(", "),
                m.package
                    .as_ref()
                    .map(|g| format!(" in {}", g.patterns().join(", ")))
                    .unwrap_or_default(),
                scan.display()
            ));
        }
    }
    let mut f = report.findings.clone();
    let v = stella_policy::evaluate(p, &mut f, &ctx);
    for r in &p.rules {
        let decided = f
            .iter()
            .any(|x| x.policy.as_ref().and_then(|n| n.rule.as_deref()) == Some(r.id.as_str()))
            || v.details.iter().any(|d| d.rule == r.id);
        if !decided {
            out.push(format!(
                "rule `{}` ({}) decides no finding of {} (its conditions match none, or a rule before it takes them)",
                r.id,
                r.action,
                scan.display()
            ));
        }
    }
    Ok(out)
}

fn eval(a: PolicyEvalArgs) -> anyhow::Result<u8> {
    let timing = std::env::var_os("STELLA_TIMING").is_some();
    let started = std::time::Instant::now();
    let policy = load_set(&a.policy)?;
    let loaded = started.elapsed();
    let bytes = crate::sbom_cmd::read_input(&a.findings, 1 << 30)?;
    let mut report: stella_report::Report = serde_json::from_slice(&bytes).with_context(|| {
        format!(
            "{} is not a scan result\nhint: make one with `stella scan TARGET -f json -o scan.json`",
            a.findings.display()
        )
    })?;
    let now = stella_sbom::now();
    let day = a.today.as_deref().unwrap_or(&now);
    let today = stella_policy::epoch_days(day)
        .with_context(|| format!("--today {day}: not a date (YYYY-MM-DD)"))?;
    let ctx = stored_context(&report, today);
    let started = std::time::Instant::now();
    report.verdict = stella_policy::evaluate_set(&policy, &mut report.findings, &ctx)?;
    if timing {
        eprintln!(
            "timing: policy loaded in {:.3} ms, evaluated over {} findings in {:.3} ms",
            loaded.as_secs_f64() * 1e3,
            report.findings.len(),
            started.elapsed().as_secs_f64() * 1e3
        );
    }
    report.summary = stella_report::summarize(&report.findings);
    let out = match a.format.as_str() {
        "json" => stella_report::json(&report),
        "table" => {
            let mut s = format!("verdict: {}\n", report.verdict.status);
            for r in &report.verdict.reasons {
                s.push_str(&format!("  {r}\n"));
            }
            for d in &report.verdict.details {
                s.push_str(&format!(
                    "  {} [{}] {} {}: {}\n",
                    d.action, d.rule, d.vulnerability_id, d.package, d.message
                ));
            }
            let muted = report
                .findings
                .iter()
                .filter_map(|f| f.policy.as_ref().map(|p| (f, p)))
                .filter(|(_, p)| p.action == "muted");
            for (f, p) in muted {
                s.push_str(&format!(
                    "  muted {} in {} {}: {}{}\n",
                    f.vulnerability_id,
                    f.package.name,
                    f.package.version,
                    p.reason.as_deref().unwrap_or(""),
                    p.until
                        .as_deref()
                        .map(|u| format!(" (until {u})"))
                        .unwrap_or_default()
                ));
            }
            s.into_bytes()
        }
        other => anyhow::bail!("unknown format `{other}` (json, table)"),
    };
    std::io::stdout()
        .lock()
        .write_all(&out)
        .context("cannot write to standard output")?;
    Ok(
        if matches!(report.verdict.status.as_str(), "FAIL" | "ERROR") {
            exit::FAIL
        } else {
            exit::OK
        },
    )
}
