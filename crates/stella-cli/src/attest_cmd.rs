//! `stella attest keygen|sign|verify`: signed SBOMs, scan results and provenance as DSSE
//! envelopes or Sigstore bundles, verified offline.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use clap::{Args, Subcommand};
use stella_attest::rekor::{Log, verify_entry};
use stella_attest::{
    Algorithm, Bundle, Envelope, IN_TOTO_PAYLOAD_TYPE, PublicKey, SigningKey, Statement, Subject,
    predicate, read_attestations,
};

use crate::exit;

/// `stella attest …`
#[derive(Debug, Subcommand)]
pub enum AttestCommand {
    /// Generate a signing key pair: PREFIX.key (PKCS#8 PEM, mode 0600) and PREFIX.pub (SPKI PEM).
    Keygen(KeygenArgs),
    /// Sign an SBOM, a scan report or an artifact's provenance as an in-toto attestation.
    Sign(SignArgs),
    /// Verify attestations (DSSE envelopes, Sigstore bundles, cosign's JSON lines) offline.
    Verify(VerifyArgs),
}

/// `stella attest keygen`
#[derive(Debug, Args)]
pub struct KeygenArgs {
    /// ed25519 or ecdsa-p256.
    #[arg(long, default_value = "ecdsa-p256")]
    pub algorithm: String,
    /// Path prefix of the two files written (never overwritten).
    #[arg(long, short = 'o', value_name = "PREFIX", default_value = "stella")]
    pub output: PathBuf,
}

/// `stella attest sign`
#[derive(Debug, Args)]
pub struct SignArgs {
    /// What FILE is: `sbom` (CycloneDX or SPDX JSON), `vuln` (a `stella scan -f json`
    /// report) or `slsa` (an artifact Stella produced; provenance is written for it).
    #[arg(long = "type", value_name = "TYPE")]
    pub kind: String,
    /// The private key (PKCS#8 or SEC1 PEM, Ed25519 or ECDSA P-256).
    #[arg(long, env = "STELLA_ATTEST_KEY")]
    pub key: PathBuf,
    /// What the statement is about, `NAME@sha256:HEX` (an image); default: the SBOM's own
    /// image digest, the report's target, or FILE itself for `slsa`.
    #[arg(long, value_name = "NAME@sha256:HEX")]
    pub subject: Option<String>,
    /// For `slsa` and `vuln`: the DB the scan used (its digest is recorded).
    #[arg(long, value_name = "FILE")]
    pub db: Option<PathBuf>,
    /// For `slsa` and `vuln`: the policy files that decided the verdict (their digest is recorded).
    #[arg(long, value_name = "FILE")]
    pub policy: Vec<PathBuf>,
    /// Where to write (default: standard output). A name ending in `.sigstore.json` gets a
    /// Sigstore bundle (v0.3), anything else a DSSE envelope.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Write a Sigstore bundle (v0.3) whatever the output's name.
    #[arg(long)]
    pub bundle: bool,
    /// The file to attest.
    pub file: PathBuf,
}

/// `stella attest verify`
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// A trusted public key (SPKI PEM; cosign's `cosign.pub` too); repeat for several.
    #[arg(long, value_name = "PUBLIC.pem")]
    pub key: Vec<PathBuf>,
    /// How many distinct trusted keys must have signed.
    #[arg(long, default_value_t = 1)]
    pub threshold: usize,
    /// The predicate must be of this kind: sbom, vuln, slsa, or a predicate type URI.
    #[arg(long = "type", value_name = "TYPE")]
    pub kind: Option<String>,
    /// A subject must have this digest (`sha256:HEX`, or `NAME@sha256:HEX` for the name too).
    #[arg(long, value_name = "[NAME@]sha256:HEX")]
    pub subject: Option<String>,
    /// A subject must be this file (its SHA-256).
    #[arg(long, value_name = "FILE", conflicts_with = "subject")]
    pub artifact: Option<PathBuf>,
    /// Sigstore `trusted_root.json` whose transparency logs are trusted (bundles' Rekor
    /// entries are then verified offline).
    #[arg(long, value_name = "FILE")]
    pub trusted_root: Option<PathBuf>,
    /// A Rekor public key (PEM) to trust, instead of or beside a trusted root.
    #[arg(long, value_name = "PUBLIC.pem")]
    pub rekor_key: Vec<PathBuf>,
    /// Fail unless every attestation has a verified transparency-log entry.
    #[arg(long)]
    pub require_tlog: bool,
    /// Keyless bundles: the identity the Fulcio certificate must be issued to (its subject
    /// alternative name, exactly: a workflow URI or an e-mail address). Needs --trusted-root.
    #[arg(long, value_name = "SAN", requires_all = ["certificate_oidc_issuer", "trusted_root"])]
    pub certificate_identity: Option<String>,
    /// Keyless bundles: the OIDC issuer that vouched for the identity, exactly
    /// (`https://token.actions.githubusercontent.com`).
    #[arg(long, value_name = "URL", requires = "certificate_identity")]
    pub certificate_oidc_issuer: Option<String>,
    /// Write the (first) verified statement's predicate here.
    #[arg(long, value_name = "FILE")]
    pub predicate_out: Option<PathBuf>,
    /// text or json.
    #[arg(long, short = 'f', default_value = "text")]
    pub format: String,
    /// The attestation file.
    pub file: PathBuf,
}

/// Runs `stella attest …`.
pub fn run(c: AttestCommand) -> anyhow::Result<u8> {
    match c {
        AttestCommand::Keygen(a) => keygen(a),
        AttestCommand::Sign(a) => sign(a),
        AttestCommand::Verify(a) => verify(a),
    }
}

fn keygen(a: KeygenArgs) -> anyhow::Result<u8> {
    let alg = Algorithm::parse(&a.algorithm).with_context(|| {
        format!(
            "unknown algorithm `{}`\nhint: use ed25519 or ecdsa-p256",
            a.algorithm
        )
    })?;
    let private = with_suffix(&a.output, "key");
    let public = with_suffix(&a.output, "pub");
    for p in [&private, &public] {
        if p.exists() {
            bail!(
                "{}: already exists; keys are never overwritten\nhint: pick another --output prefix",
                p.display()
            );
        }
    }
    let k = SigningKey::generate(alg)?;
    write_private(&private, k.to_pem()?.as_bytes())?;
    crate::sbom_cmd::write_atomically(&public, k.public().to_pem().as_bytes())?;
    eprintln!(
        "wrote {} (private, keep it secret) and {} (public); key id {}",
        private.display(),
        public.display(),
        k.public().key_id()
    );
    Ok(exit::OK)
}

fn with_suffix(prefix: &Path, ext: &str) -> PathBuf {
    let mut s = prefix.as_os_str().to_owned();
    s.push(".");
    s.push(ext);
    PathBuf::from(s)
}

fn write_private(path: &Path, pem: &[u8]) -> anyhow::Result<()> {
    use std::io::Write as _;
    let mut o = std::fs::OpenOptions::new();
    o.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        o.mode(0o600);
    }
    let mut f = o
        .open(path)
        .with_context(|| format!("cannot create {}", path.display()))?;
    f.write_all(pem)
        .and_then(|()| f.sync_all())
        .with_context(|| format!("cannot write {}", path.display()))
}

/// Reads a private key file with the path in every error.
pub(crate) fn load_key(path: &Path) -> anyhow::Result<SigningKey> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the key {}", path.display()))?;
    SigningKey::from_pem(&text).with_context(|| format!("{}", path.display()))
}

fn load_public(path: &Path) -> anyhow::Result<PublicKey> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the key {}", path.display()))?;
    PublicKey::from_pem(&text).with_context(|| format!("{}", path.display()))
}

/// `NAME@sha256:HEX` (or `sha256:HEX`, name empty).
fn parse_subject(s: &str) -> anyhow::Result<Subject> {
    let (name, digest) = match s.rsplit_once('@') {
        Some((n, d)) => (n, d),
        None => ("", s),
    };
    let hex = digest.strip_prefix("sha256:").unwrap_or("");
    if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        bail!(
            "`{s}` is not a subject\nhint: give NAME@sha256:<64 hex digits>, e.g. registry.example/app@sha256:…"
        );
    }
    Ok(Subject::sha256(name, hex))
}

fn file_sha256(path: &Path) -> anyhow::Result<String> {
    use sha2::Digest as _;
    let mut f =
        std::fs::File::open(path).with_context(|| format!("cannot read {}", path.display()))?;
    let mut h = sha2::Sha256::new();
    std::io::copy(&mut f, &mut h).with_context(|| format!("cannot read {}", path.display()))?;
    Ok(stella_attest::hex(&h.finalize()))
}

fn policy_digest(files: &[PathBuf]) -> anyhow::Result<Option<String>> {
    if files.is_empty() {
        return Ok(None);
    }
    use sha2::Digest as _;
    let mut h = sha2::Sha256::new();
    for f in files {
        h.update(std::fs::read(f).with_context(|| format!("cannot read {}", f.display()))?);
    }
    Ok(Some(format!(
        "sha256:{}",
        stella_attest::hex(&h.finalize())
    )))
}

fn db_digest(db: Option<&Path>) -> anyhow::Result<Option<String>> {
    db.map(|p| {
        stella_advisory::Db::open(p)
            .map(|d| format!("sha256:{}", d.digest()))
            .with_context(|| format!("{}", p.display()))
    })
    .transpose()
}

/// The signed statement of a scan report (`stella scan --attest` and `attest sign --type vuln`).
pub(crate) fn scan_statement(
    report_json: &[u8],
    subject: Option<Subject>,
    db: Option<&Path>,
    policy: &[PathBuf],
) -> anyhow::Result<Vec<u8>> {
    let report: serde_json::Value = serde_json::from_slice(report_json)
        .context("the scan report is not JSON\nhint: sign the output of `stella scan -f json`")?;
    let ctx = predicate::ScanContext {
        scanner_version: env!("CARGO_PKG_VERSION").to_string(),
        db_digest: db_digest(db)?,
        policy_digest: policy_digest(policy)?,
    };
    predicate::scan_statement(&report, subject, &ctx).map_err(|e| {
        let hint = if e.to_string().contains("no digest") {
            "pass --subject NAME@sha256:HEX (the image the SBOM describes)"
        } else {
            "sign the output of `stella scan -f json`"
        };
        anyhow::anyhow!("{e}\nhint: {hint}")
    })
}

/// Writes an envelope as a bundle or a bare envelope, as the output's name (or `bundle`) says.
pub(crate) fn write_envelope(
    e: Envelope,
    key: &SigningKey,
    output: Option<&Path>,
    bundle: bool,
) -> anyhow::Result<()> {
    let as_bundle =
        bundle || output.is_some_and(|p| p.to_string_lossy().ends_with(".sigstore.json"));
    let mut text = if as_bundle {
        Bundle::new(e, key.public()).to_json()
    } else {
        e.to_json()
    };
    text.push('\n');
    match output {
        Some(p) => crate::sbom_cmd::write_atomically(p, text.as_bytes()),
        None => {
            use std::io::Write as _;
            std::io::stdout()
                .lock()
                .write_all(text.as_bytes())
                .context("cannot write to standard output")
        }
    }
}

fn sign(a: SignArgs) -> anyhow::Result<u8> {
    let key = load_key(&a.key)?;
    let bytes =
        std::fs::read(&a.file).with_context(|| format!("cannot read {}", a.file.display()))?;
    let subject = a.subject.as_deref().map(parse_subject).transpose()?;
    let statement = match a.kind.as_str() {
        "sbom" => {
            let Some(ptype) = predicate::sbom_type(&bytes) else {
                bail!(
                    "{}: not a CycloneDX or SPDX JSON document\nhint: convert it first (`stella sbom convert --format cyclonedx-json`)",
                    a.file.display()
                );
            };
            let subject = match subject.or_else(|| sbom_subject(&bytes)) {
                Some(s) => s,
                None => bail!(
                    "{}: the SBOM does not name an image digest\nhint: pass --subject NAME@sha256:HEX (the image it describes)",
                    a.file.display()
                ),
            };
            Statement::encode(&[subject], ptype, &bytes)?
        }
        "vuln" => scan_statement(&bytes, subject, a.db.as_deref(), &a.policy)
            .with_context(|| a.file.display().to_string())?,
        "slsa" => {
            let name = a
                .file
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let subject = match subject {
                Some(s) => s,
                None => Subject::sha256(&name, &file_sha256(&a.file)?),
            };
            let mut deps = Vec::new();
            if let Some(db) = &a.db {
                deps.push(predicate::Dependency {
                    name: "stella-db".into(),
                    uri: None,
                    sha256: db_digest(Some(db))?.unwrap_or_default(),
                });
            }
            if let Some(p) = policy_digest(&a.policy)? {
                deps.push(predicate::Dependency {
                    name: "policy".into(),
                    uri: None,
                    sha256: p,
                });
            }
            let now = stella_sbom::now();
            let p = predicate::slsa_provenance(
                env!("CARGO_PKG_VERSION"),
                serde_json::json!({ "artifact": name }),
                &deps,
                None,
                Some(&now),
            );
            Statement::encode(
                &[subject],
                predicate::SLSA_PROVENANCE_V1,
                &serde_json::to_vec(&p)?,
            )?
        }
        k => bail!("unknown attestation type `{k}`\nhint: use sbom, vuln or slsa"),
    };
    let e = Envelope::sign(IN_TOTO_PAYLOAD_TYPE, &statement, &[&key])?;
    write_envelope(e, &key, a.output.as_deref(), a.bundle)?;
    if let Some(o) = &a.output {
        eprintln!(
            "signed {} as {} with key {}: {}",
            a.file.display(),
            a.kind,
            &key.public().key_id()[..16],
            o.display()
        );
    }
    Ok(exit::OK)
}

/// An image digest the SBOM names for itself: Syft's `metadata.component.version`
/// (`sha256:…`) or a `pkg:oci/…@sha256:…` purl there.
fn sbom_subject(bytes: &[u8]) -> Option<Subject> {
    let v: serde_json::Value = serde_json::from_slice(bytes).ok()?;
    let c = v.pointer("/metadata/component")?;
    let name = c.get("name").and_then(|n| n.as_str()).unwrap_or("");
    let version = c.get("version").and_then(|n| n.as_str()).unwrap_or("");
    if version.starts_with("sha256:") {
        return parse_subject(&format!("{name}@{version}")).ok();
    }
    let purl = c.get("purl").and_then(|n| n.as_str())?;
    let digest = purl.strip_prefix("pkg:oci/")?.split_once('@')?.1;
    let digest = digest
        .split('?')
        .next()?
        .replace("%3A", ":")
        .replace("%3a", ":");
    parse_subject(&format!("{name}@{digest}")).ok()
}

fn kind_matches(want: &str, predicate_type: &str) -> bool {
    want == predicate_type || want == predicate::short_name(predicate_type)
}

fn verify(a: VerifyArgs) -> anyhow::Result<u8> {
    if !matches!(a.format.as_str(), "text" | "json") {
        bail!("unknown format `{}`\nhint: use text or json", a.format);
    }
    if let Some(k) = &a.kind
        && !matches!(k.as_str(), "sbom" | "vuln" | "slsa")
        && !k.contains(':')
    {
        bail!("unknown attestation type `{k}`\nhint: use sbom, vuln, slsa or a predicate type URI");
    }
    let keys: Vec<PublicKey> = a
        .key
        .iter()
        .map(|p| load_public(p))
        .collect::<anyhow::Result<_>>()?;
    let mut logs = Vec::new();
    let mut authorities = Vec::new();
    if let Some(t) = &a.trusted_root {
        let bytes = std::fs::read(t).with_context(|| format!("cannot read {}", t.display()))?;
        logs.extend(Log::from_trusted_root(&bytes).with_context(|| t.display().to_string())?);
        authorities = stella_attest::fulcio::Authority::from_trusted_root(&bytes)
            .with_context(|| t.display().to_string())?;
    }
    for k in &a.rekor_key {
        logs.push(Log::from_key(&k.display().to_string(), load_public(k)?));
    }
    let want_subject = match (&a.subject, &a.artifact) {
        (Some(s), _) => {
            let (name, digest) = match s.rsplit_once('@') {
                Some((n, d)) => (Some(n.to_string()), d.to_string()),
                None => (None, s.clone()),
            };
            Some((name, digest))
        }
        (None, Some(f)) => Some((None, file_sha256(f)?)),
        _ => None,
    };
    let bytes =
        std::fs::read(&a.file).with_context(|| format!("cannot read {}", a.file.display()))?;
    let atts = read_attestations(&bytes).with_context(|| a.file.display().to_string())?;
    let mut results = Vec::new();
    let mut failed = 0usize;
    let mut predicate_written = false;
    for (i, att) in atts.iter().enumerate() {
        let r = check_one(att, &keys, &a, (&logs, &authorities), want_subject.as_ref());
        match r {
            Ok((mut summary, payload)) => {
                summary["index"] = (i + 1).into();
                if let (Some(out), false) = (&a.predicate_out, predicate_written) {
                    let p = Statement::predicate(&payload)?;
                    crate::sbom_cmd::write_atomically(out, &serde_json::to_vec_pretty(&p)?)?;
                    predicate_written = true;
                }
                results.push(summary);
            }
            Err(why) => {
                failed += 1;
                results
                    .push(serde_json::json!({ "index": i + 1, "verified": false, "error": why }));
            }
        }
    }
    if a.format == "json" {
        outln!("{}", serde_json::to_string_pretty(&results)?);
    } else {
        for r in &results {
            print_text(r)?;
        }
    }
    if failed > 0 {
        eprintln!(
            "{}: {failed} of {} attestation(s) failed verification",
            a.file.display(),
            atts.len()
        );
        return Ok(exit::FAIL);
    }
    Ok(exit::OK)
}

fn print_text(r: &serde_json::Value) -> anyhow::Result<()> {
    let i = r["index"].as_u64().unwrap_or(0);
    if r["verified"] == true {
        outln!("attestation {i}: verified");
        if let Some(who) = r["identity"].as_str() {
            outln!("  identity   {who} (Fulcio certificate)");
        }
        outln!(
            "  signed by  {}",
            r["keys"]
                .as_array()
                .map(|a| a
                    .iter()
                    .filter_map(|k| k.as_str())
                    .map(|k| k.get(..16).unwrap_or(k))
                    .collect::<Vec<_>>()
                    .join(", "))
                .unwrap_or_default()
        );
        outln!("  predicate  {}", r["predicateType"].as_str().unwrap_or(""));
        for s in r["subjects"].as_array().into_iter().flatten() {
            outln!("  subject    {}", s.as_str().unwrap_or(""));
        }
        match r["tlog"].as_array() {
            Some(entries) if !entries.is_empty() => {
                for e in entries {
                    outln!(
                        "  logged     {} entry {} at {}{}",
                        e["log"].as_str().unwrap_or(""),
                        e["logIndex"],
                        e["integratedTime"].as_str().unwrap_or(""),
                        if e["proven"] == true {
                            " (inclusion proven)"
                        } else {
                            " (signed entry timestamp only)"
                        }
                    );
                }
            }
            _ => {
                if let Some(n) = r["tlogNote"].as_str() {
                    outln!("  logged     {n}");
                }
            }
        }
    } else {
        outln!(
            "attestation {i}: NOT verified: {}",
            r["error"].as_str().unwrap_or("")
        );
    }
    Ok(())
}

/// The key of a keyless bundle's certificate, once the certificate is checked: its log entry
/// (the signing time), its chain to a trusted CA, and the identity the caller named.
fn keyless_key(
    att: &stella_attest::Attestation,
    a: &VerifyArgs,
    logs: &[Log],
    authorities: &[stella_attest::fulcio::Authority],
) -> Result<(PublicKey, String), String> {
    let (Some(cert), Some(subject), Some(issuer)) = (
        &att.certificate,
        &a.certificate_identity,
        &a.certificate_oidc_issuer,
    ) else {
        return Err(if att.certificate.is_some() {
            "a keyless (Fulcio certificate) bundle: name who must have signed it with \
             --certificate-identity and --certificate-oidc-issuer, and give --trusted-root"
                .into()
        } else {
            "no trusted key given\nhint: --key PUBLIC.pem (the signer's public key)".into()
        });
    };
    if logs.is_empty() || authorities.is_empty() {
        return Err("a keyless bundle needs --trusted-root (its CAs and logs)".into());
    }
    // the certificate lives ten minutes: the log's verified time says when it signed
    let logged = att
        .tlog_entries
        .first()
        .ok_or("a keyless bundle without a transparency-log entry cannot be verified")?;
    let l = verify_entry(logged, &att.envelope, logs).map_err(|e| e.to_string())?;
    let id = stella_attest::fulcio::Identity {
        subject: subject.clone(),
        issuer: issuer.clone(),
    };
    let key = stella_attest::fulcio::verify_certificate(cert, authorities, l.integrated_time, &id)
        .map_err(|e| e.to_string())?;
    Ok((key, format!("{subject} ({issuer})")))
}

fn check_one(
    att: &stella_attest::Attestation,
    keys: &[PublicKey],
    a: &VerifyArgs,
    (logs, authorities): (&[Log], &[stella_attest::fulcio::Authority]),
    want: Option<&(Option<String>, String)>,
) -> Result<(serde_json::Value, Vec<u8>), String> {
    let mut signer = None;
    let v = if keys.is_empty() {
        let (key, who) = keyless_key(att, a, logs, authorities)?;
        signer = Some(who);
        att.envelope.verify(&[key], 1)
    } else {
        att.envelope.verify(keys, a.threshold)
    }
    .map_err(|e| e.to_string())?;
    if v.payload_type != IN_TOTO_PAYLOAD_TYPE {
        return Err(format!(
            "the payload is `{}`, not an in-toto statement",
            v.payload_type
        ));
    }
    let st = Statement::parse(&v.payload).map_err(|e| e.to_string())?;
    if let Some(k) = &a.kind
        && !kind_matches(k, &st.predicate_type)
    {
        return Err(format!(
            "the predicate is {} ({}), not {k}",
            st.predicate_type,
            predicate::short_name(&st.predicate_type)
        ));
    }
    if let Some((name, digest)) = want
        && !st.covers(name.as_deref(), digest)
    {
        return Err(format!(
            "no subject of the statement is {}{digest}",
            name.as_deref().map(|n| format!("{n}@")).unwrap_or_default()
        ));
    }
    let mut tlog = Vec::new();
    let mut note = None;
    if !att.tlog_entries.is_empty() && !logs.is_empty() {
        for e in &att.tlog_entries {
            let l = verify_entry(e, &att.envelope, logs).map_err(|e| e.to_string())?;
            tlog.push(serde_json::json!({
                "log": l.log,
                "logIndex": l.log_index,
                "integratedTime": stella_sbom::rfc3339(l.integrated_time),
                "proven": l.proven,
            }));
        }
    } else if !att.tlog_entries.is_empty() {
        note = Some("entry present, not checked (pass --trusted-root or --rekor-key)");
    } else {
        note = Some("no transparency-log entry");
    }
    if a.require_tlog && tlog.is_empty() {
        return Err(
            "no verified transparency-log entry (--require-tlog)\nhint: pass --trusted-root or --rekor-key for bundles that carry one"
                .into(),
        );
    }
    let subjects: Vec<String> = st
        .subject
        .iter()
        .map(|s| {
            let d = s
                .digest
                .iter()
                .map(|(k, v)| format!("{k}:{v}"))
                .collect::<Vec<_>>()
                .join(" ");
            if s.name.is_empty() {
                d
            } else {
                format!("{} {d}", s.name)
            }
        })
        .collect();
    let mut out = serde_json::json!({
        "index": 0,
        "verified": true,
        "keys": v.keys,
        "predicateType": st.predicate_type,
        "subjects": subjects,
        "tlog": tlog,
    });
    if let Some(n) = note {
        out["tlogNote"] = n.into();
    }
    if let Some(who) = signer {
        out["identity"] = who.into();
    }
    Ok((out, v.payload))
}
