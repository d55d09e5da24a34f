//! `stella ouk build|verify|import`: Offline Update Kits for air-gapped sites.

use std::path::PathBuf;

use anyhow::Context as _;
use clap::{Args, Subcommand};
use stella_attest::PublicKey;

use crate::exit;

/// `stella ouk …`
#[derive(Debug, Subcommand)]
pub enum OukCommand {
    /// Build a signed kit: the compiled DB and offline client tokens (docs/air-gap.md).
    Build(OukBuildArgs),
    /// Verify a kit: its signature and every member's digest, without installing anything.
    Verify(OukVerifyArgs),
    /// Verify a kit and install its DB atomically (a running Core loads it within a second).
    Import(OukImportArgs),
}

/// `stella ouk build`
#[derive(Debug, Args)]
pub struct OukBuildArgs {
    /// The compiled DB to ship.
    #[arg(long, env = "STELLA_DB")]
    pub db: PathBuf,
    /// The kit signing key (PEM, Ed25519 or ECDSA P-256).
    #[arg(long, env = "STELLA_KIT_KEY")]
    pub key: PathBuf,
    /// An offline client token to carry, `NAME=FILE` (a JWT from `stella token offline`).
    #[arg(long, value_name = "NAME=FILE")]
    pub token: Vec<String>,
    /// The installation the kit is for (refused elsewhere); any when absent.
    #[arg(long, value_name = "ID")]
    pub installation: Option<String>,
    /// Build a delta kit against this DB (the one the site has installed): only the parts of
    /// the new DB it lacks are shipped; it installs only onto exactly that DB.
    #[arg(long, value_name = "DB")]
    pub base: Option<PathBuf>,
    /// Where to write the kit (a tar file).
    #[arg(long, short = 'o')]
    pub output: PathBuf,
}

/// `stella ouk verify`
#[derive(Debug, Args)]
pub struct OukVerifyArgs {
    /// A trusted kit signing key (SPKI PEM); repeat for several.
    #[arg(long, value_name = "PUBLIC.pem", required = true)]
    pub key: Vec<PathBuf>,
    /// text or json.
    #[arg(long, short = 'f', default_value = "text")]
    pub format: String,
    /// The kit.
    pub kit: PathBuf,
}

/// `stella ouk import`
#[derive(Debug, Args)]
pub struct OukImportArgs {
    /// A trusted kit signing key (SPKI PEM); repeat for several.
    #[arg(long, value_name = "PUBLIC.pem", required = true)]
    pub key: Vec<PathBuf>,
    /// The DB to replace (the one Core serves, `--db` of `stella serve`).
    #[arg(long, env = "STELLA_DB")]
    pub db: PathBuf,
    /// This installation's id (a kit built for another is refused).
    #[arg(long, value_name = "ID", env = "STELLA_INSTALLATION")]
    pub installation: Option<String>,
    /// Install a kit older than the installed DB (a deliberate rollback).
    #[arg(long)]
    pub force: bool,
    /// Also write the kit's tokens into this directory (NAME.jwt, mode 0600).
    #[arg(long, value_name = "DIR")]
    pub tokens_dir: Option<PathBuf>,
    /// The kit.
    pub kit: PathBuf,
}

/// Runs `stella ouk …`.
pub fn run(c: OukCommand) -> anyhow::Result<u8> {
    match c {
        OukCommand::Build(a) => build(a),
        OukCommand::Verify(a) => verify(a),
        OukCommand::Import(a) => import(a),
    }
}

fn keys(paths: &[PathBuf]) -> anyhow::Result<Vec<PublicKey>> {
    paths
        .iter()
        .map(|p| {
            let text = std::fs::read_to_string(p)
                .with_context(|| format!("cannot read the key {}", p.display()))?;
            PublicKey::from_pem(&text).with_context(|| p.display().to_string())
        })
        .collect()
}

fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn build(a: OukBuildArgs) -> anyhow::Result<u8> {
    let key = crate::attest_cmd::load_key(&a.key)?;
    let mut tokens = Vec::new();
    for t in &a.token {
        let Some((name, file)) = t.split_once('=') else {
            anyhow::bail!("--token `{t}`: give NAME=FILE");
        };
        let jwt = std::fs::read_to_string(file).with_context(|| format!("cannot read {file}"))?;
        tokens.push((name.to_string(), jwt.trim().to_string()));
    }
    let t = std::time::Instant::now();
    let m = stella_ouk::build(
        &stella_ouk::Build {
            db: &a.db,
            tokens,
            installation: a.installation.clone(),
            created: stella_sbom::now(),
            now: now_secs(),
            base: a.base.as_deref(),
        },
        &key,
        &a.output,
    )?;
    let size = std::fs::metadata(&a.output).map(|m| m.len()).unwrap_or(0);
    eprintln!(
        "wrote {}{} ({:.1} MB in {:.2} s): DB built {} ({}), {} token(s), signed by {}",
        a.output.display(),
        m.delta
            .as_ref()
            .map(|d| format!(" (delta against the DB built {})", d.base_built))
            .unwrap_or_default(),
        size as f64 / 1e6,
        t.elapsed().as_secs_f64(),
        m.db.built,
        m.db.digest,
        m.tokens.len(),
        &key.public().key_id()[..16]
    );
    Ok(exit::OK)
}

fn describe(v: &stella_ouk::Verified) -> serde_json::Value {
    serde_json::json!({
        "created": v.manifest.created,
        "installation": v.manifest.installation,
        "signedBy": v.key,
        "delta": v.manifest.delta,
        "db": { "built": v.manifest.db.built, "digest": v.manifest.db.digest,
                "feeds": v.manifest.db.feeds.keys().collect::<Vec<_>>() },
        "tokens": v.manifest.tokens.iter().map(|t| serde_json::json!({
            "member": t.member, "expires": stella_sbom::rfc3339(t.expires as i64)})).collect::<Vec<_>>(),
        "members": v.members.iter().map(|(n, (size, sha))| serde_json::json!({
            "name": n, "size": size, "sha256": sha})).collect::<Vec<_>>(),
    })
}

/// A refused kit is a failed check (exit 1), with the reason; anything else is an error.
fn refused(e: stella_ouk::Error) -> anyhow::Result<u8> {
    match e {
        stella_ouk::Error::Io { .. } => Err(e.into()),
        e => {
            eprintln!("error: kit refused: {e}\nnothing installed was changed");
            Ok(exit::FAIL)
        }
    }
}

fn verify(a: OukVerifyArgs) -> anyhow::Result<u8> {
    if !matches!(a.format.as_str(), "text" | "json") {
        anyhow::bail!("unknown format `{}`\nhint: use text or json", a.format);
    }
    let keys = keys(&a.key)?;
    let v = match stella_ouk::verify(&a.kit, &keys, None) {
        Ok(v) => v,
        Err(e) => return refused(e),
    };
    let d = describe(&v);
    if a.format == "json" {
        outln!("{}", serde_json::to_string_pretty(&d)?);
    } else {
        outln!(
            "{}: verified, signed by {}",
            a.kit.display(),
            &v.key[..16.min(v.key.len())]
        );
        outln!("  created  {}", v.manifest.created);
        outln!(
            "  DB       built {} ({})",
            v.manifest.db.built,
            v.manifest.db.digest
        );
        if let Some(d) = &v.manifest.delta {
            outln!(
                "  delta    applies to the DB built {} ({})",
                d.base_built,
                d.base
            );
        }
        outln!("  feeds    {}", v.manifest.db.feeds.len());
        for t in &v.manifest.tokens {
            outln!(
                "  token    {} (expires {})",
                t.member,
                stella_sbom::rfc3339(t.expires as i64)
            );
        }
        if let Some(i) = &v.manifest.installation {
            outln!("  for      installation {i}");
        }
    }
    Ok(exit::OK)
}

fn import(a: OukImportArgs) -> anyhow::Result<u8> {
    let keys = keys(&a.key)?;
    let t = std::time::Instant::now();
    let r = match stella_ouk::import_db(&a.kit, &keys, &a.db, a.installation.as_deref(), a.force) {
        Ok(r) => r,
        Err(e) => return refused(e),
    };
    if let Some(dir) = &a.tokens_dir {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        for (member, jwt) in stella_ouk::tokens(&a.kit, &r.verified)? {
            let name = member.trim_start_matches("tokens/");
            let p = dir.join(name);
            crate::sbom_cmd::write_atomically(&p, jwt.as_bytes())?;
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt as _;
                std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600))
                    .with_context(|| p.display().to_string())?;
            }
        }
    }
    if r.changed {
        eprintln!(
            "installed the DB of {} (built {}, was {}) into {} in {:.2} s",
            a.kit.display(),
            r.verified.manifest.db.built,
            r.replaced.as_deref().unwrap_or("none"),
            a.db.display(),
            t.elapsed().as_secs_f64()
        );
    } else {
        eprintln!(
            "{}: its DB (built {}) is already installed; nothing changed",
            a.kit.display(),
            r.verified.manifest.db.built
        );
    }
    Ok(exit::OK)
}
