//! Offline verification of a Sigstore bundle's transparency-log entry (Rekor v1): the entry's
//! signed entry timestamp, its inclusion proof up to a signed checkpoint, and that the entry
//! records this envelope — with the log keys of a Sigstore `trusted_root.json` or a PEM key.

use base64::Engine as _;
use serde::Deserialize;
use sha2::{Digest as _, Sha256};

use crate::{Envelope, Error, PublicKey, hex};

/// A transparency log a verifier trusts: its id (SHA-256 of its key's SPKI) and key.
#[derive(Debug, Clone)]
pub struct Log {
    /// The log's base URL, when known.
    pub url: String,
    /// SHA-256 of the log key's SPKI DER.
    pub id: Vec<u8>,
    /// The log's key.
    pub key: PublicKey,
}

fn err(why: impl Into<String>) -> Error {
    Error::Signature(format!("transparency log: {}", why.into()))
}

fn b64(s: &str) -> Result<Vec<u8>, Error> {
    base64::engine::general_purpose::STANDARD
        .decode(s)
        .map_err(|_| err("a field that should be base64 is not"))
}

impl Log {
    /// A log from its PEM key (its id is derived from the key).
    pub fn from_key(url: &str, key: PublicKey) -> Log {
        Log {
            url: url.to_string(),
            id: Sha256::digest(key.spki_der()).to_vec(),
            key,
        }
    }

    /// The transparency logs of a Sigstore `trusted_root.json` whose keys Stella can use
    /// (ECDSA P-256 and Ed25519).
    pub fn from_trusted_root(json: &[u8]) -> Result<Vec<Log>, Error> {
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Root {
            #[serde(default)]
            tlogs: Vec<TLog>,
        }
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct TLog {
            #[serde(default)]
            base_url: String,
            public_key: RawKey,
        }
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct RawKey {
            raw_bytes: String,
        }
        let root: Root = serde_json::from_slice(json)
            .map_err(|e| err(format!("not a Sigstore trusted root ({e})")))?;
        let logs: Vec<Log> = root
            .tlogs
            .iter()
            .filter_map(|t| {
                let der = b64(&t.public_key.raw_bytes).ok()?;
                Some(Log::from_key(
                    &t.base_url,
                    PublicKey::from_spki_der(&der).ok()?,
                ))
            })
            .collect();
        if logs.is_empty() {
            return Err(err(
                "the trusted root names no transparency log with a usable key",
            ));
        }
        Ok(logs)
    }
}

/// What a verified log entry says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Logged {
    /// The log's URL.
    pub log: String,
    /// The entry's index in the log.
    pub log_index: u64,
    /// When the log integrated it (Unix seconds; vouched for by the log's signature).
    pub integrated_time: i64,
    /// Whether an inclusion proof up to a signed checkpoint was checked (else only the
    /// signed entry timestamp, the log's promise to include it).
    pub proven: bool,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Entry {
    log_index: String,
    log_id: LogId,
    integrated_time: String,
    #[serde(default)]
    inclusion_promise: Option<Promise>,
    #[serde(default)]
    inclusion_proof: Option<Proof>,
    canonicalized_body: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct LogId {
    key_id: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Promise {
    signed_entry_timestamp: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Proof {
    log_index: String,
    root_hash: String,
    tree_size: String,
    hashes: Vec<String>,
    #[serde(default)]
    checkpoint: Option<Checkpoint>,
}

#[derive(Deserialize)]
struct Checkpoint {
    envelope: String,
}

fn num(s: &str, what: &str) -> Result<u64, Error> {
    s.parse()
        .map_err(|_| err(format!("{what} `{s}` is not a number")))
}

/// The RFC 9162 (§2.1.3.2) root of an inclusion proof of `leaf` at `index` in a tree of `size`.
pub fn root_from_inclusion_proof(
    index: u64,
    size: u64,
    leaf: [u8; 32],
    path: &[[u8; 32]],
) -> Option<[u8; 32]> {
    if index >= size {
        return None;
    }
    let node = |l: &[u8; 32], r: &[u8; 32]| -> [u8; 32] {
        let mut h = Sha256::new();
        h.update([1u8]);
        h.update(l);
        h.update(r);
        h.finalize().into()
    };
    let (mut fn_, mut sn, mut r) = (index, size - 1, leaf);
    for p in path {
        if sn == 0 {
            return None;
        }
        if fn_ & 1 == 1 || fn_ == sn {
            r = node(p, &r);
            if fn_ & 1 == 0 {
                while fn_ & 1 == 0 && fn_ != 0 {
                    fn_ >>= 1;
                    sn >>= 1;
                }
            }
        } else {
            r = node(&r, p);
        }
        fn_ >>= 1;
        sn >>= 1;
    }
    (sn == 0).then_some(r)
}

/// Verifies one `tlogEntries[]` element of a bundle against `logs`, and that it records
/// `envelope` (its payload hash and a signature of it).
pub fn verify_entry(
    entry: &serde_json::Value,
    envelope: &Envelope,
    logs: &[Log],
) -> Result<Logged, Error> {
    let e: Entry = serde_json::from_value(entry.clone())
        .map_err(|x| err(format!("a damaged log entry ({x})")))?;
    let id = b64(&e.log_id.key_id)?;
    let log = logs.iter().find(|l| l.id == id).ok_or_else(|| {
        err(format!(
            "the entry is in a log you do not trust (log id {}); pass its key or a trusted root that names it",
            hex(&id)
        ))
    })?;
    let body = b64(&e.canonicalized_body)?;
    let log_index = num(&e.log_index, "logIndex")?;
    let integrated_time = i64::try_from(num(&e.integrated_time, "integratedTime")?)
        .map_err(|_| err("integratedTime is out of range"))?;
    if let Some(p) = &e.inclusion_promise {
        // the signed entry timestamp: the log's signature over the canonical JSON of these
        // four fields, keys sorted (RFC 8785 for this shape)
        let set = format!(
            "{{\"body\":{},\"integratedTime\":{},\"logID\":\"{}\",\"logIndex\":{}}}",
            serde_json::to_string(&e.canonicalized_body).unwrap_or_default(),
            integrated_time,
            hex(&id),
            log_index
        );
        if !log
            .key
            .verify(set.as_bytes(), &b64(&p.signed_entry_timestamp)?)
        {
            return Err(err(
                "the signed entry timestamp does not verify with the log's key: the entry was altered",
            ));
        }
    }
    let proven = match &e.inclusion_proof {
        Some(p) => {
            verify_proof(p, &body, log)?;
            true
        }
        None if e.inclusion_promise.is_some() => false,
        None => {
            return Err(err(
                "the entry has neither an inclusion proof nor a signed entry timestamp",
            ));
        }
    };
    bound_to(&body, envelope)?;
    Ok(Logged {
        log: log.url.clone(),
        log_index,
        integrated_time,
        proven,
    })
}

fn hash32(s: &str) -> Result<[u8; 32], Error> {
    b64(s)?
        .try_into()
        .map_err(|_| err("a proof hash is not 32 bytes"))
}

fn verify_proof(p: &Proof, body: &[u8], log: &Log) -> Result<(), Error> {
    let mut h = Sha256::new();
    h.update([0u8]);
    h.update(body);
    let leaf: [u8; 32] = h.finalize().into();
    let path: Vec<[u8; 32]> = p
        .hashes
        .iter()
        .map(|s| hash32(s))
        .collect::<Result<_, _>>()?;
    let index = num(&p.log_index, "inclusionProof.logIndex")?;
    let size = num(&p.tree_size, "inclusionProof.treeSize")?;
    let root = hash32(&p.root_hash)?;
    if root_from_inclusion_proof(index, size, leaf, &path) != Some(root) {
        return Err(err(
            "the inclusion proof does not lead to the recorded root: the entry or proof was altered",
        ));
    }
    let cp = p
        .checkpoint
        .as_ref()
        .ok_or_else(|| err("the inclusion proof has no checkpoint to anchor its root"))?;
    // a signed note: body lines, a blank line, then `— NAME BASE64(keyhint[4] || sig)` lines
    let (text, sigs) = cp
        .envelope
        .split_once("\n\n")
        .ok_or_else(|| err("the checkpoint is not a signed note"))?;
    let mut lines = text.lines();
    let _origin = lines.next();
    let cp_size = lines.next().and_then(|l| l.parse::<u64>().ok());
    let cp_root = lines.next().and_then(|l| hash32(l).ok());
    if cp_size != Some(size) || cp_root != Some(root) {
        return Err(err(
            "the checkpoint is for another tree than the inclusion proof",
        ));
    }
    let signed = format!("{text}\n");
    let ok = sigs.lines().any(|l| {
        let Some(rest) = l.strip_prefix("\u{2014} ") else {
            return false;
        };
        let Some((_, sig)) = rest.rsplit_once(' ') else {
            return false;
        };
        b64(sig).is_ok_and(|raw| {
            raw.len() > 4 && raw[..4] == log.id[..4] && log.key.verify(signed.as_bytes(), &raw[4..])
        })
    });
    if !ok {
        return Err(err(
            "the checkpoint carries no valid signature of the log's key",
        ));
    }
    Ok(())
}

/// The entry's body must record this envelope: its payload's hash and one of its signatures.
fn bound_to(body: &[u8], envelope: &Envelope) -> Result<(), Error> {
    let v: serde_json::Value =
        serde_json::from_slice(body).map_err(|_| err("the entry's body is not JSON"))?;
    let kind = v.get("kind").and_then(|k| k.as_str()).unwrap_or("");
    let payload = envelope.payload_bytes()?;
    let payload_hash = hex(&Sha256::digest(&payload));
    let (recorded_hash, sigs): (Option<&str>, Vec<String>) = match kind {
        "intoto" => {
            let c = &v["spec"]["content"];
            let sigs = c["envelope"]["signatures"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|s| s["sig"].as_str())
                        // intoto 0.0.2 stores the signature base64 encoded once more
                        .filter_map(|s| b64(s).ok().and_then(|b| String::from_utf8(b).ok()))
                        .collect()
                })
                .unwrap_or_default();
            (c["payloadHash"]["value"].as_str(), sigs)
        }
        "dsse" => {
            let s = &v["spec"];
            let sigs = s["signatures"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|s| s["signature"].as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default();
            (s["payloadHash"]["value"].as_str(), sigs)
        }
        k => {
            return Err(err(format!(
                "the entry is of kind `{k}`, which does not record a DSSE envelope"
            )));
        }
    };
    if recorded_hash != Some(payload_hash.as_str()) {
        return Err(err(
            "the log entry records another payload than this envelope's",
        ));
    }
    let decode = |s: &str| b64(s).ok();
    if !envelope.signatures.iter().any(|s| {
        sigs.iter()
            .any(|r| decode(r).is_some() && decode(r) == decode(&s.sig))
    }) {
        return Err(err(
            "the log entry records another signature than this envelope's",
        ));
    }
    Ok(())
}
