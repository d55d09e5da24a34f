//! Offline Update Kits: the compiled vulnerability DB and offline client tokens in one tar
//! archive whose first member is a signed in-toto statement naming every other member by
//! its SHA-256 — verified as it is read, before anything installed changes.
//!
//! Traps: a kit comes from outside, so every member name is checked against the signed list
//! (no paths of our choosing, no `..`, no links, nothing unlisted, nothing missing); the DB
//! is written next to the installed one and renamed over it only once the whole kit verified
//! (a kill at any moment leaves the previous DB in place); a kit older than the installed DB
//! is a replay unless forced.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};
use stella_attest::{Envelope, IN_TOTO_PAYLOAD_TYPE, PublicKey, SigningKey, Statement, Subject};

/// The predicate type of a kit's manifest.
pub const KIT_PREDICATE: &str = "https://stella-ops.org/attestation/offline-kit/v1";
/// The kit's first member: the DSSE envelope of its manifest.
pub const MANIFEST: &str = "manifest.intoto.json";
/// Where the DB is in a kit.
pub const DB_MEMBER: &str = "db/stella.db";
/// Where a delta kit's delta is (instead of the DB).
pub const DELTA_MEMBER: &str = "db/stella.db.delta";

pub mod delta;
/// A manifest is small; anything larger is not one.
const MAX_MANIFEST: u64 = 16 << 20;

/// Why a kit was refused.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The kit is not well-formed: truncated, damaged, or with members it does not list.
    #[error("{path}: {why}")]
    Kit {
        /// The kit file.
        path: String,
        /// What is wrong.
        why: String,
    },
    /// The kit's signature or a member's digest does not hold.
    #[error("{path}: {why}")]
    Untrusted {
        /// The kit file.
        path: String,
        /// What failed.
        why: String,
    },
    /// The kit is valid but must not be installed here (older, another installation).
    #[error("{path}: {why}")]
    Refused {
        /// The kit file.
        path: String,
        /// Why.
        why: String,
    },
    /// Reading or writing a file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The error.
        source: std::io::Error,
    },
    /// The DB inside is not usable.
    #[error(transparent)]
    Db(#[from] stella_advisory::Error),
    /// Signing failed.
    #[error(transparent)]
    Attest(#[from] stella_attest::Error),
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> Error + '_ {
    move |source| Error::Io {
        path: path.display().to_string(),
        source,
    }
}

/// What a kit's manifest says (its predicate).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Manifest {
    /// When the kit was built (RFC 3339).
    pub created: String,
    /// The installation the kit is for; any when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub installation: Option<String>,
    /// The DB: build time, content digest, and its feeds.
    pub db: DbInfo,
    /// Offline client tokens carried (member names), with their expiry.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tokens: Vec<TokenInfo>,
    /// Set for a delta kit: the DB it applies to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delta: Option<DeltaInfo>,
}

/// The DB a delta kit applies to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeltaInfo {
    /// `sha256:` of the base DB's file.
    pub base: String,
    /// When the base DB was built.
    pub base_built: String,
}

/// The DB a kit carries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DbInfo {
    /// When it was built.
    pub built: String,
    /// `sha256:` content digest (as in its header).
    pub digest: String,
    /// Its feeds, names sorted, with what the DB's manifest records about each.
    pub feeds: BTreeMap<String, serde_json::Value>,
}

/// An offline token in a kit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TokenInfo {
    /// Its member (`tokens/NAME.jwt`).
    pub member: String,
    /// Its `exp`, Unix seconds.
    pub expires: u64,
}

/// A verified kit: its manifest, the key that signed it, and its members' digests.
#[derive(Debug, Clone)]
pub struct Verified {
    /// The manifest.
    pub manifest: Manifest,
    /// Id of the key that signed it.
    pub key: String,
    /// Member → (size, sha256 hex).
    pub members: BTreeMap<String, (u64, String)>,
    /// A delta kit's delta (verified bytes).
    pub delta: Option<Vec<u8>>,
}

/// What to put in a kit.
#[derive(Debug)]
pub struct Build<'a> {
    /// The compiled DB.
    pub db: &'a Path,
    /// Offline tokens: (name, JWT).
    pub tokens: Vec<(String, String)>,
    /// The installation it is for.
    pub installation: Option<String>,
    /// RFC 3339 now.
    pub created: String,
    /// Unix seconds now (expired tokens are refused).
    pub now: u64,
    /// Build a delta kit against this DB (the one the site has installed).
    pub base: Option<&'a Path>,
}

fn kit_err(path: &Path, why: impl Into<String>) -> Error {
    Error::Kit {
        path: path.display().to_string(),
        why: why.into(),
    }
}

/// `exp` of a JWT (not verified: its issuer checks it; the kit only must not carry dead ones).
fn jwt_exp(jwt: &str) -> Option<u64> {
    use base64::Engine as _;
    let payload = jwt.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .ok()?;
    serde_json::from_slice::<serde_json::Value>(&bytes)
        .ok()?
        .get("exp")?
        .as_u64()
}

fn valid_token_name(n: &str) -> bool {
    !n.is_empty()
        && n.len() <= 64
        && n.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        && !n.starts_with('.')
}

/// Writes a kit to `out`, signed with `key`; returns its manifest.
pub fn build(b: &Build<'_>, key: &SigningKey, out: &Path) -> Result<Manifest, Error> {
    let db = stella_advisory::Db::open(b.db)?;
    db.verify()?;
    let m = db.manifest();
    let feeds = m
        .feeds
        .iter()
        .map(|(f, i)| {
            (
                f.clone(),
                serde_json::to_value(i).unwrap_or(serde_json::Value::Null),
            )
        })
        .collect();
    let mut tokens = Vec::new();
    let mut members: Vec<(String, Vec<u8>)> = Vec::new();
    for (name, jwt) in &b.tokens {
        if !valid_token_name(name) {
            return Err(kit_err(
                out,
                format!("`{name}` is not a token name (letters, digits, - _ .)"),
            ));
        }
        let exp = jwt_exp(jwt).ok_or_else(|| {
            kit_err(
                out,
                format!("the token `{name}` is not a JWT with an `exp`"),
            )
        })?;
        if exp <= b.now {
            return Err(kit_err(
                out,
                format!("the token `{name}` has expired; issue a new one (`stella token offline`)"),
            ));
        }
        let member = format!("tokens/{name}.jwt");
        tokens.push(TokenInfo {
            member: member.clone(),
            expires: exp,
        });
        members.push((member, jwt.as_bytes().to_vec()));
    }
    let manifest = Manifest {
        created: b.created.clone(),
        installation: b.installation.clone(),
        db: DbInfo {
            built: m.built.clone(),
            digest: format!("sha256:{}", db.digest()),
            feeds,
        },
        tokens,
        delta: None,
    };
    let mut manifest = manifest;
    let delta = match b.base {
        Some(base) => {
            let old = std::fs::read(base).map_err(io(base))?;
            let base_db = stella_advisory::Db::open(base)?;
            let new = std::fs::read(b.db).map_err(io(b.db))?;
            manifest.delta = Some(DeltaInfo {
                base: format!("sha256:{}", stella_attest::sha256_hex(&old)),
                base_built: base_db.manifest().built.clone(),
            });
            Some(delta::diff(&old, &new))
        }
        None => None,
    };
    // a full kit: the DB's file digest, streamed (it may be large); a delta names its delta
    let (db_size, mut subjects) = match &delta {
        Some(d) => (
            0,
            vec![Subject::sha256(DELTA_MEMBER, &stella_attest::sha256_hex(d))],
        ),
        None => {
            let (size, sha) = hash_file(b.db)?;
            (size, vec![Subject::sha256(DB_MEMBER, &sha)])
        }
    };
    subjects.extend(
        members
            .iter()
            .map(|(n, bytes)| Subject::sha256(n, &stella_attest::sha256_hex(bytes))),
    );
    let statement = Statement::encode(
        &subjects,
        KIT_PREDICATE,
        &serde_json::to_vec(&manifest).unwrap_or_default(),
    )?;
    let envelope = Envelope::sign(IN_TOTO_PAYLOAD_TYPE, &statement, &[key])?;
    // written beside the target and renamed into place: no half-written kit under its name
    let tmp = out.with_extension("partial");
    let file = std::fs::File::create(&tmp).map_err(io(&tmp))?;
    let mut tar = tar::Builder::new(std::io::BufWriter::new(file));
    let mut add = |name: &str, size: u64, r: &mut dyn Read| -> Result<(), Error> {
        let mut h = tar::Header::new_ustar();
        h.set_size(size);
        h.set_mode(0o644);
        h.set_mtime(0);
        h.set_entry_type(tar::EntryType::Regular);
        tar.append_data(&mut h, name, r).map_err(io(&tmp))
    };
    let env = envelope.to_json().into_bytes();
    add(MANIFEST, env.len() as u64, &mut env.as_slice())?;
    match &delta {
        Some(d) => add(DELTA_MEMBER, d.len() as u64, &mut d.as_slice())?,
        None => {
            let mut dbf = std::fs::File::open(b.db).map_err(io(b.db))?;
            add(DB_MEMBER, db_size, &mut dbf)?;
        }
    }
    for (n, bytes) in &members {
        add(n, bytes.len() as u64, &mut bytes.as_slice())?;
    }
    let w = tar.into_inner().map_err(io(&tmp))?;
    let f = w.into_inner().map_err(|e| Error::Io {
        path: tmp.display().to_string(),
        source: e.into_error(),
    })?;
    f.sync_all().map_err(io(&tmp))?;
    std::fs::rename(&tmp, out).map_err(io(out))?;
    Ok(manifest)
}

fn hash_file(p: &Path) -> Result<(u64, String), Error> {
    let mut f = std::fs::File::open(p).map_err(io(p))?;
    let mut h = Sha256::new();
    let n = std::io::copy(&mut f, &mut h).map_err(io(p))?;
    Ok((n, stella_attest::hex(&h.finalize())))
}

/// Copies `r` into `w` while hashing.
fn copy_hashed(r: &mut dyn Read, w: &mut dyn Write) -> std::io::Result<(u64, String)> {
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut n = 0u64;
    loop {
        let k = r.read(&mut buf)?;
        if k == 0 {
            break;
        }
        h.update(&buf[..k]);
        w.write_all(&buf[..k])?;
        n += k as u64;
    }
    Ok((n, stella_attest::hex(&h.finalize())))
}

/// Verifies `kit` against `trusted` keys, member by member; the DB is written to `db_out`
/// when given (and removed again if anything fails). Nothing else is written.
pub fn verify(kit: &Path, trusted: &[PublicKey], db_out: Option<&Path>) -> Result<Verified, Error> {
    let result = verify_inner(kit, trusted, db_out);
    if result.is_err()
        && let Some(p) = db_out
    {
        let _ = std::fs::remove_file(p);
    }
    result
}

fn verify_inner(
    kit: &Path,
    trusted: &[PublicKey],
    db_out: Option<&Path>,
) -> Result<Verified, Error> {
    let untrusted = |why: String| Error::Untrusted {
        path: kit.display().to_string(),
        why,
    };
    let damaged = |e: std::io::Error| {
        kit_err(
            kit,
            format!("the kit is truncated or damaged ({e}); copy it again from its source"),
        )
    };
    let file = std::fs::File::open(kit).map_err(io(kit))?;
    let mut archive = tar::Archive::new(std::io::BufReader::new(file));
    let mut entries = archive.entries().map_err(damaged)?;
    // the manifest first: nothing is read into place before the signature holds
    let mut first = entries
        .next()
        .ok_or_else(|| kit_err(kit, "the kit is empty"))?
        .map_err(damaged)?;
    let first_name = first
        .path()
        .map_err(damaged)?
        .to_string_lossy()
        .into_owned();
    if first_name != MANIFEST {
        return Err(kit_err(
            kit,
            format!("not a Stella offline kit: its first member is `{first_name}`, not {MANIFEST}"),
        ));
    }
    if first.size() > MAX_MANIFEST {
        return Err(kit_err(kit, "the manifest is too large to be one"));
    }
    let mut env = Vec::new();
    first.read_to_end(&mut env).map_err(damaged)?;
    let envelope = Envelope::from_json(&env).map_err(|e| untrusted(e.to_string()))?;
    let v = envelope.verify(trusted, 1).map_err(|e| {
        untrusted(format!(
            "{e}; is the kit signed by a key you trust (--key)?"
        ))
    })?;
    let st = Statement::parse(&v.payload).map_err(|e| untrusted(e.to_string()))?;
    if st.predicate_type != KIT_PREDICATE {
        return Err(untrusted(format!(
            "the signed statement is a {}, not an offline kit",
            st.predicate_type
        )));
    }
    let manifest: Manifest = serde_json::from_value(
        Statement::predicate(&v.payload).map_err(|e| untrusted(e.to_string()))?,
    )
    .map_err(|e| untrusted(format!("the kit's manifest is not one ({e})")))?;
    let mut expected: BTreeMap<String, String> = BTreeMap::new();
    for s in &st.subject {
        let Some(d) = s.digest.get("sha256") else {
            return Err(untrusted(format!("`{}` has no sha256 digest", s.name)));
        };
        if !(s.name == DB_MEMBER
            || s.name == DELTA_MEMBER
            || s.name.starts_with("tokens/") && valid_token_name(&s.name[7..]))
        {
            return Err(untrusted(format!(
                "the manifest names an unexpected member `{}`",
                s.name
            )));
        }
        expected.insert(s.name.clone(), d.clone());
    }
    let mut members = BTreeMap::new();
    let mut delta = None;
    for e in entries {
        let mut e = e.map_err(damaged)?;
        let name = e.path().map_err(damaged)?.to_string_lossy().into_owned();
        let Some(want) = expected.get(&name) else {
            return Err(untrusted(format!(
                "the kit holds `{name}`, which its signed manifest does not list"
            )));
        };
        if e.header().entry_type() != tar::EntryType::Regular {
            return Err(untrusted(format!("`{name}` is not a regular file")));
        }
        if members.contains_key(&name) {
            return Err(untrusted(format!("`{name}` appears twice")));
        }
        let (size, got) = match (name.as_str(), db_out) {
            (DB_MEMBER, Some(out)) => {
                let mut f = std::fs::File::create(out).map_err(io(out))?;
                let r = copy_hashed(&mut e, &mut f).map_err(damaged)?;
                f.sync_all().map_err(io(out))?;
                r
            }
            (DELTA_MEMBER, _) => {
                let mut d = Vec::with_capacity(e.size().min(1 << 30) as usize);
                let r = copy_hashed(&mut e, &mut d).map_err(damaged)?;
                delta = Some(d);
                r
            }
            _ => copy_hashed(&mut e, &mut std::io::sink()).map_err(damaged)?,
        };
        if &got != want {
            return Err(untrusted(format!(
                "`{name}` was changed after the kit was signed (its SHA-256 is {got}, the manifest says {want})"
            )));
        }
        members.insert(name, (size, got));
    }
    if let Some(missing) = expected.keys().find(|k| !members.contains_key(*k)) {
        return Err(kit_err(
            kit,
            format!("the kit is truncated: `{missing}` is missing; copy it again from its source"),
        ));
    }
    if manifest.delta.is_some() != members.contains_key(DELTA_MEMBER) {
        return Err(untrusted(
            "the manifest and the members disagree on whether this is a delta kit".into(),
        ));
    }
    if let Some(out) = db_out.filter(|_| delta.is_none()) {
        check_db(kit, out, &manifest)?;
    }
    Ok(Verified {
        manifest,
        key: v.keys.first().cloned().unwrap_or_default(),
        members,
        delta,
    })
}

/// The DB as a DB: its own header digest holds and is the one the manifest names.
fn check_db(kit: &Path, db: &Path, manifest: &Manifest) -> Result<(), Error> {
    let d = stella_advisory::Db::open(db)?;
    d.verify()?;
    if format!("sha256:{}", d.digest()) != manifest.db.digest {
        return Err(Error::Untrusted {
            path: kit.display().to_string(),
            why: "the DB's content digest is not the one the manifest names".into(),
        });
    }
    Ok(())
}

/// What an import did.
#[derive(Debug, Clone)]
pub struct Imported {
    /// The kit.
    pub verified: Verified,
    /// The DB's build time before, if there was one.
    pub replaced: Option<String>,
    /// False when the kit's DB was already the installed one.
    pub changed: bool,
}

/// Installs the DB of a verified kit at `db_path`, atomically: written next to it, checked,
/// and renamed over it. Refuses a kit for another installation, and one older than the
/// installed DB unless `force`.
pub fn import_db(
    kit: &Path,
    trusted: &[PublicKey],
    db_path: &Path,
    installation: Option<&str>,
    force: bool,
) -> Result<Imported, Error> {
    let dir = db_path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = db_path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "stella.db".into());
    let tmp: PathBuf = dir.join(format!(".{name}.kit-{}", std::process::id()));
    let verified = verify(kit, trusted, Some(&tmp))?;
    let refuse = |why: String| {
        let _ = std::fs::remove_file(&tmp);
        Error::Refused {
            path: kit.display().to_string(),
            why,
        }
    };
    if let Some(for_) = &verified.manifest.installation
        && installation != Some(for_.as_str())
    {
        return Err(refuse(format!(
            "the kit is for installation `{for_}`, not {}",
            installation.map_or("this one".to_string(), |i| format!("`{i}`"))
        )));
    }
    if let Some(d) = &verified.delta {
        // a delta rebuilds the new DB from exactly the installed one
        let Ok(old) = std::fs::read(db_path) else {
            return Err(refuse(format!(
                "a delta kit needs the DB it was made against (built {}); none is installed at {}: import a full kit",
                verified
                    .manifest
                    .delta
                    .as_ref()
                    .map_or("?", |x| x.base_built.as_str()),
                db_path.display()
            )));
        };
        let have = format!("sha256:{}", stella_attest::sha256_hex(&old));
        let want = verified
            .manifest
            .delta
            .as_ref()
            .map(|x| x.base.clone())
            .unwrap_or_default();
        if have != want {
            if format!("sha256:{}", stella_advisory::Db::open(db_path)?.digest())
                == verified.manifest.db.digest
            {
                let _ = std::fs::remove_file(&tmp);
                return Ok(Imported {
                    replaced: Some(verified.manifest.db.built.clone()),
                    verified,
                    changed: false,
                });
            }
            return Err(refuse(format!(
                "this delta kit applies to the DB built {} ({want}); the installed DB is {have}: import a full kit (or the deltas in between)",
                verified
                    .manifest
                    .delta
                    .as_ref()
                    .map_or("?", |x| x.base_built.as_str()),
            )));
        }
        let Some(new) = delta::apply(&old, d) else {
            return Err(refuse(
                "the delta does not rebuild the DB it names: import a full kit".into(),
            ));
        };
        std::fs::write(&tmp, &new).map_err(io(&tmp))?;
        if let Ok(f) = std::fs::File::open(&tmp) {
            let _ = f.sync_all();
        }
        if let Err(e) = check_db(kit, &tmp, &verified.manifest) {
            let _ = std::fs::remove_file(&tmp);
            return Err(e);
        }
    }
    let installed = if db_path.exists() {
        let d = stella_advisory::Db::open(db_path)?;
        Some((d.manifest().built.clone(), format!("sha256:{}", d.digest())))
    } else {
        None
    };
    if let Some((built, digest)) = &installed {
        if *digest == verified.manifest.db.digest {
            let _ = std::fs::remove_file(&tmp);
            return Ok(Imported {
                verified,
                replaced: Some(built.clone()),
                changed: false,
            });
        }
        if verified.manifest.db.built.as_str() < built.as_str() && !force {
            return Err(refuse(format!(
                "the kit's DB was built {}, before the installed one ({built}): an older kit (a replay?) is refused; --force installs it anyway",
                verified.manifest.db.built
            )));
        }
    }
    std::fs::rename(&tmp, db_path).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        io(db_path)(e)
    })?;
    // the rename is durable once the directory is
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(Imported {
        verified,
        replaced: installed.map(|i| i.0),
        changed: true,
    })
}

/// The tokens of a verified kit (member → JWT), read again from the kit (small).
pub fn tokens(kit: &Path, v: &Verified) -> Result<Vec<(String, String)>, Error> {
    let file = std::fs::File::open(kit).map_err(io(kit))?;
    let mut archive = tar::Archive::new(std::io::BufReader::new(file));
    let mut out = Vec::new();
    for e in archive.entries().map_err(io(kit))? {
        let mut e = e.map_err(io(kit))?;
        let name = e.path().map_err(io(kit))?.to_string_lossy().into_owned();
        if let Some((_, want)) = v.members.get(&name).filter(|_| name.starts_with("tokens/")) {
            let mut s = String::new();
            e.read_to_string(&mut s).map_err(io(kit))?;
            if &stella_attest::sha256_hex(s.as_bytes()) != want {
                return Err(kit_err(
                    kit,
                    format!("`{name}` changed since it was verified"),
                ));
            }
            out.push((name, s));
        }
    }
    Ok(out)
}
