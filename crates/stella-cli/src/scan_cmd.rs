//! `stella scan`: image → catalogued packages → matched against the local DB → report and
//! the exit code a pipeline gates on.

use std::io::Read as _;

use anyhow::{Context, bail};

use crate::cli::ScanArgs;
use crate::exit;

/// Scans another tool's SBOM (CycloneDX, SPDX, Syft or Trivy JSON).
fn scan_sbom(a: &ScanArgs, db: &stella_advisory::Db, path: &std::path::Path) -> anyhow::Result<u8> {
    let bytes = crate::sbom_cmd::read_input(path, 512 << 20)?;
    let r = stella_sbom::read(&bytes, None)
        .with_context(|| format!("cannot read {}", path.display()))?;
    let name = sbom_name(a, &r, path);
    let input = stella_scan::input_from_sbom(r, &path.display().to_string());
    finish(a, db, input, ("sbom", &name, None), Default::default())
}

/// What an SBOM scan is named: `--name`, else the SBOM's own subject, else the file's name
/// (not the directories it sits in here).
pub(crate) fn sbom_name(a: &ScanArgs, r: &stella_sbom::Read, path: &std::path::Path) -> String {
    a.name
        .clone()
        .or_else(|| r.sbom.metadata.subject())
        .or_else(|| path.file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_else(|| path.display().to_string())
}

/// Matches, reports and gates.
/// Opens an image as `stella sbom` does (registry with the scan's credentials and platform,
/// or a local archive, layout or directory).
/// The SBOM file a scan target names: `sbom:PATH`, or a bare path to a file whose content is
/// an SBOM (`stella scan bom.json`, as Grype takes it): image archives (tar) never start as
/// JSON, XML or SPDX tag-value do.
pub(crate) fn sbom_target(target: &str) -> Option<&str> {
    if let Some(path) = target.strip_prefix("sbom:") {
        return Some(path);
    }
    let path = std::path::Path::new(target);
    if !path.is_file() {
        return None;
    }
    let mut head = Vec::with_capacity(64 * 1024);
    std::fs::File::open(path)
        .ok()?
        .take(64 * 1024)
        .read_to_end(&mut head)
        .ok()?;
    // JSON or XML is meant as an SBOM (the reader says what is wrong with one it does not
    // recognise); SPDX tag-value is recognised by its first lines
    let text = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&head);
    let first = text.iter().find(|b| !b.is_ascii_whitespace());
    (matches!(first, Some(b'{' | b'<')) || stella_sbom::detect(&head).is_ok()).then_some(target)
}

pub(crate) fn open_image(
    a: &ScanArgs,
    target: &stella_image::Target,
    spec: &str,
) -> anyhow::Result<stella_image::Image> {
    Ok(match target {
        stella_image::Target::Registry(r) => stella_registry::open(
            r,
            &stella_registry::Options {
                insecure: a.insecure,
                username: a.username.clone(),
                password: a.password.clone(),
                platform: a.platform.clone(),
            },
        )
        .with_context(|| format!("cannot pull {r}"))?,
        t => stella_image::Image::open(t, a.platform.as_deref())
            .with_context(|| format!("cannot open {}", spec))?,
    })
}

fn finish(
    a: &ScanArgs,
    db: &stella_advisory::Db,
    input: stella_scan::Input,
    (target_kind, name, digest): (&str, &str, Option<String>),
    base_layers: std::collections::BTreeSet<String>,
) -> anyhow::Result<u8> {
    if let Some(id) = &a.explain {
        let distro = stella_scan::distro_namespace(db, input.os.as_ref());
        let lines = stella_match::explain(db, &input.packages, distro.as_deref(), id)?;
        let mut text = format!(
            "{id} in {name} (OS namespace {}):\n",
            distro.as_deref().unwrap_or("none detected")
        );
        if lines.is_empty() {
            text.push_str("no package of this image has a statement about it in the DB\n");
        }
        for l in lines {
            text.push_str(&l);
            text.push('\n');
        }
        use std::io::Write as _;
        std::io::stdout()
            .lock()
            .write_all(text.as_bytes())
            .context("cannot write to standard output")?;
        return Ok(exit::OK);
    }
    let mut vex = Vec::new();
    for path in &a.vex {
        let bytes = crate::sbom_cmd::read_input(path, 256 << 20)?;
        vex.extend(
            stella_vex::read(&bytes, &path.display().to_string()).map_err(|e| {
                anyhow::anyhow!("{e}\nhint: --vex reads OpenVEX, CycloneDX VEX (JSON) and CSAF VEX")
            })?,
        );
    }
    let ignores = match &a.ignore_file {
        Some(path) => {
            let text = fs_err::read_to_string(path)?;
            let name = path.display().to_string();
            let entries = stella_scan::parse_ignores(&text, &name)?;
            Some((name, entries))
        }
        None => None,
    };
    let policy = if a.policy.is_empty() {
        None
    } else {
        Some(crate::policy_cmd::load_set(&a.policy)?)
    };
    let opts = stella_scan::Options {
        policy,
        base_layers,
        fail_on: a.fail_on.clone(),
        only_fixed: a.only_fixed,
        cpe: a.cpe,
        vex,
        ignores,
        db_max_age_days: a.db_max_age,
        db_hint: format!(
            "stella db update --db {}",
            a.db.as_ref()
                .map(|d| d.display().to_string())
                .unwrap_or_default()
        ),
        now: stella_sbom::now(),
        // a local policy that cannot run is the caller's to fix: an error (exit 2)
        on_policy_error: stella_scan::OnPolicyError::Refuse,
    };
    let progress = crate::progress::Progress::new();
    progress.step(&format!(
        "matching {} package(s) against the DB",
        input.packages.len()
    ));
    let started = std::time::Instant::now();
    let n = input.packages.len();
    let report = stella_scan::scan(
        db,
        input,
        stella_scan::Target {
            kind: target_kind.into(),
            reference: name.to_string(),
            digest,
        },
        &opts,
    )?;
    if std::env::var_os("STELLA_TIMING").is_some() {
        eprintln!(
            "timing: matched {n} packages in {:.3} ms",
            started.elapsed().as_secs_f64() * 1e3
        );
    }
    progress.done();
    render(a, &report, name)
}

/// Writes the report in the asked format and returns the verdict's exit code.
pub(crate) fn render(
    a: &ScanArgs,
    report: &stella_report::Report,
    name: &str,
) -> anyhow::Result<u8> {
    let table = a.format == "table";
    for w in &report.warnings {
        eprintln!("warning: {w}");
    }
    let bytes = match a.format.as_str() {
        "table" => {
            use std::io::IsTerminal as _;
            // colour for a person at a terminal; `NO_COLOR` (no-color.org) turns it off
            let color = a.output.is_none()
                && std::io::stdout().is_terminal()
                && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
            stella_report::table_with(report, color).into_bytes()
        }
        "sarif" => stella_report::sarif(report, env!("CARGO_PKG_VERSION")),
        "junit" => stella_report::junit(report, a.fail_on.as_deref()),
        "cyclonedx" | "cyclonedx-json" => {
            stella_report::cyclonedx_vdr(report, env!("CARGO_PKG_VERSION"))
        }
        "cyclonedx-vex" => stella_report::cyclonedx_vex(report, env!("CARGO_PKG_VERSION")),
        "openvex" => stella_report::openvex(report, env!("CARGO_PKG_VERSION")),
        "spdx" | "spdx-json" => stella_report::spdx(report, env!("CARGO_PKG_VERSION")),
        "html" => stella_report::html(report, env!("CARGO_PKG_VERSION")),
        _ => stella_report::json(report),
    };
    match &a.output {
        Some(p) => crate::sbom_cmd::write_atomically(p, &bytes)?,
        None => {
            use std::io::Write as _;
            let mut so = std::io::stdout().lock();
            so.write_all(&bytes)
                .context("cannot write to standard output")?;
            so.flush().ok();
        }
    }
    if let Some(key) = &a.attest {
        attest(a, key, report)?;
    }
    if !table || a.output.is_some() {
        eprintln!(
            "{name}: {} finding(s), verdict {}",
            report.findings.len(),
            report.verdict.status
        );
    }
    Ok(
        if matches!(report.verdict.status.as_str(), "FAIL" | "ERROR") {
            exit::FAIL
        } else {
            exit::OK
        },
    )
}

/// Where `--attest` writes: `--attest-output`, else beside the report.
fn attest_path(a: &ScanArgs) -> Option<std::path::PathBuf> {
    a.attest_output.clone().or_else(|| {
        a.output.as_ref().map(|o| {
            let mut s = o.as_os_str().to_owned();
            s.push(".intoto.jsonl");
            s.into()
        })
    })
}

/// Signs the scan result (`--attest`): Stella's scan-result predicate about the image (its
/// digest) or, for an SBOM scan, about the SBOM document itself.
fn attest(
    a: &ScanArgs,
    key: &std::path::Path,
    report: &stella_report::Report,
) -> anyhow::Result<()> {
    let k = crate::attest_cmd::load_key(key)?;
    let subject = match (&report.target.digest, sbom_target(&a.target)) {
        (Some(_), _) => None,
        (None, Some(path)) => {
            let p = std::path::Path::new(path);
            let bytes = std::fs::read(p).with_context(|| format!("cannot read {path}"))?;
            let name = p
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            Some(stella_attest::Subject::sha256(
                &name,
                &stella_attest::sha256_hex(&bytes),
            ))
        }
        (None, None) => bail!(
            "--attest: the scanned target has no digest to name it by (a directory)\nhint: scan the image, or sign with `stella attest sign --type vuln --subject NAME@sha256:HEX`"
        ),
    };
    let statement = crate::attest_cmd::scan_statement(
        &stella_report::json(report),
        subject,
        a.db.as_deref(),
        &a.policy,
    )?;
    let e = stella_attest::Envelope::sign(stella_attest::IN_TOTO_PAYLOAD_TYPE, &statement, &[&k])?;
    let out = attest_path(a).context("--attest needs --output or --attest-output")?;
    crate::attest_cmd::write_envelope(e, &k, Some(&out), false)?;
    eprintln!("signed scan result: {}", out.display());
    Ok(())
}

/// Runs `stella scan`.
pub fn run(a: ScanArgs) -> anyhow::Result<u8> {
    if let Some(key) = &a.attest {
        if attest_path(&a).is_none() {
            bail!(
                "--attest writes the signed result beside the report: give --output FILE (or --attest-output FILE)"
            );
        }
        // a key that cannot sign is found before the scan, not after it
        crate::attest_cmd::load_key(key)?;
    }
    if !matches!(
        a.format.as_str(),
        "table"
            | "json"
            | "sarif"
            | "junit"
            | "cyclonedx"
            | "cyclonedx-json"
            | "cyclonedx-vex"
            | "openvex"
            | "spdx"
            | "spdx-json"
            | "html"
    ) {
        bail!(
            "unknown output format `{}`\nhint: use table, json, sarif, junit, cyclonedx, cyclonedx-vex, openvex, spdx or html",
            a.format
        );
    }
    if let Some(f) = &a.fail_on
        && stella_match::severity_rank(f).is_none()
    {
        bail!("unknown severity `{f}`\nhint: use critical, high, medium or low");
    }
    let Some(db_path) = a.db.clone() else {
        if a.server.as_deref().is_none_or(|s| s.trim().is_empty()) {
            bail!(
                "stella scan needs a vulnerability DB to match against here, or Core to scan there\nhint: --db PATH (or STELLA_DB) for a local scan, e.g. `stella db update --db stella.db` first; --server URL (or STELLA_SERVER) with --token to scan through Core"
            );
        }
        return crate::remote_cmd::run(&a);
    };
    if !db_path.exists() {
        bail!(
            "{}: no vulnerability DB there\nhint: build one with `stella db update --db {0}` (or `stella db import --db {0} FEEDS…` offline)",
            db_path.display()
        );
    }
    let db = stella_advisory::Db::open(&db_path)?;
    let progress = crate::progress::Progress::new();
    if let Some(path) = sbom_target(&a.target) {
        progress.step(&format!("reading {path}"));
        return scan_sbom(&a, &db, std::path::Path::new(path));
    }
    let target = stella_image::Target::parse(&a.target)?;
    progress.step(&format!("opening {}", a.target));
    let image = open_image(&a, &target, &a.target)?;
    let cache = if a.no_cache {
        None
    } else {
        a.cache
            .clone()
            .or_else(stella_catalog::cache::Cache::default_dir)
            .map(stella_catalog::cache::Cache::new)
    };
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    progress.step(&format!("cataloguing {}", a.target));
    let cat = stella_catalog::catalog(&image, cache.as_ref(), threads)
        .with_context(|| format!("cannot catalog {}", a.target))?;
    let input = stella_scan::input_from_catalog(&cat.composed);
    let base_layers = match &a.base_image {
        Some(spec) => {
            let t = stella_image::Target::parse(spec)?;
            let base = open_image(&a, &t, spec)
                .with_context(|| format!("cannot open the base image {spec}"))?;
            base.layers
                .iter()
                .filter_map(|l| l.diff_id.clone())
                .collect()
        }
        None => Default::default(),
    };
    let kind = if matches!(target, stella_image::Target::Dir(_)) {
        "directory"
    } else {
        "image"
    };
    finish(
        &a,
        &db,
        input,
        (
            kind,
            a.name.as_ref().unwrap_or(&image.name),
            image.digest.clone(),
        ),
        base_layers,
    )
}
