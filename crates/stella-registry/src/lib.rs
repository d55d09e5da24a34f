//! Pulling images from registries that speak the OCI distribution API (Docker Hub, GHCR,
//! Quay, Harbor, `docker-registry`…): the manifest (through multi-platform indexes), the config,
//! and layer blobs streamed straight into the layer walk, never held whole.
//!
//! Traps: references default to Docker Hub (`alpine` is `registry-1.docker.io/library/alpine
//! :latest`); a registry answers 401 with a `WWW-Authenticate` challenge naming a token
//! service (bearer) or asking for basic credentials, and the token is then sent on every
//! request; blobs are often redirected to storage on another host, where the registry's
//! credentials must not follow; plain HTTP is allowed for loopback registries only, and only
//! when asked; a manifest fetched by digest must hash to that digest; Docker schema 1
//! manifests are obsolete and refused.

use std::io::Read;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::Deserialize;
use sha2::{Digest, Sha256};
use stella_image::{Blobs, Image};

/// Why a pull failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The reference is not one we can parse.
    #[error("{reference}: {why}")]
    Reference {
        /// As given.
        reference: String,
        /// What is wrong.
        why: String,
    },
    /// The registry could not be reached.
    #[error(
        "{url}: {why}\nhint: check the registry address and the network (a plain-HTTP registry on this machine needs --insecure)"
    )]
    Network {
        /// The request.
        url: String,
        /// The transport error.
        why: String,
    },
    /// The registry refused or failed a request.
    #[error("{url}: HTTP {status}: {why}")]
    Http {
        /// The request.
        url: String,
        /// Status code.
        status: u16,
        /// The registry's message, shortened.
        why: String,
    },
    /// Credentials were refused or missing.
    #[error(
        "{url}: authentication failed ({why})\nhint: pass --username and --password (or STELLA_REGISTRY_USERNAME / STELLA_REGISTRY_PASSWORD)"
    )]
    Auth {
        /// The request.
        url: String,
        /// What the registry said.
        why: String,
    },
    /// The registry sent something we do not accept.
    #[error("{at}: {why}")]
    Format {
        /// Where.
        at: String,
        /// What.
        why: String,
    },
    /// The image itself is malformed.
    #[error(transparent)]
    Image(#[from] stella_image::Error),
}

/// How to pull.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Allow plain HTTP (loopback registries only).
    pub insecure: bool,
    /// Credentials for basic auth or the token service.
    pub username: Option<String>,
    /// Password or token.
    pub password: Option<String>,
    /// The platform of a multi-platform image (`linux/arm64`); default this machine's.
    pub platform: Option<String>,
}

/// A parsed image reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    /// Registry host (and port).
    pub registry: String,
    /// Repository path.
    pub repository: String,
    /// Tag or digest to fetch.
    pub reference: String,
}

impl Reference {
    /// Parses `[registry/]repository[:tag][@digest]`.
    pub fn parse(s: &str) -> Result<Reference, Error> {
        let bad = |why: &str| Error::Reference {
            reference: s.to_string(),
            why: why.to_string(),
        };
        let s2 = s.trim();
        if s2.is_empty() || s2.contains(char::is_whitespace) {
            return Err(bad("not an image reference"));
        }
        let (name, digest) = match s2.split_once('@') {
            Some((n, d)) => (n, Some(d)),
            None => (s2, None),
        };
        let (name, tag) = match name.rsplit_once(':') {
            Some((n, t)) if !t.contains('/') => (n, Some(t)),
            _ => (name, None),
        };
        let (registry, repo) = match name.split_once('/') {
            Some((first, rest))
                if first.contains('.') || first.contains(':') || first == "localhost" =>
            {
                (first.to_string(), rest.to_string())
            }
            _ => ("docker.io".to_string(), name.to_string()),
        };
        let registry = if registry == "docker.io" || registry == "index.docker.io" {
            "registry-1.docker.io".to_string()
        } else {
            registry
        };
        let repo = if registry == "registry-1.docker.io" && !repo.contains('/') {
            format!("library/{repo}")
        } else {
            repo
        };
        if repo.is_empty()
            || !repo
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-/".contains(&b))
        {
            return Err(bad(
                "the repository name must be lower-case letters, digits and `._-/`",
            ));
        }
        let reference = match (digest, tag) {
            (Some(d), _) => {
                if !d.starts_with("sha256:")
                    || d.len() != 71
                    || !d[7..].bytes().all(|b| b.is_ascii_hexdigit())
                {
                    return Err(bad("a digest must be `sha256:` and 64 hex digits"));
                }
                d.to_string()
            }
            (None, Some(t)) => t.to_string(),
            (None, None) => "latest".to_string(),
        };
        Ok(Reference {
            registry,
            repository: repo,
            reference,
        })
    }
}

fn is_loopback(host: &str) -> bool {
    let h = host.rsplit_once(':').map(|(h, _)| h).unwrap_or(host);
    matches!(h, "localhost" | "127.0.0.1" | "[::1]") || h.starts_with("127.")
}

struct Client {
    agent: ureq::Agent,
    base: String,
    repo: String,
    creds: Option<(String, String)>,
    auth: Mutex<Option<String>>,
}

fn b64(s: &str) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let b = s.as_bytes();
    let mut out = String::new();
    for c in b.chunks(3) {
        let n = (u32::from(c[0]) << 16)
            | (u32::from(*c.get(1).unwrap_or(&0)) << 8)
            | u32::from(*c.get(2).unwrap_or(&0));
        for i in 0..4 {
            if i <= c.len() {
                out.push(T[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// `Bearer realm="…",service="…",scope="…"` → (scheme, params).
fn challenge(h: &str) -> (String, Vec<(String, String)>) {
    let (scheme, rest) = h.trim().split_once(' ').unwrap_or((h.trim(), ""));
    let mut params = Vec::new();
    let mut s = rest.trim();
    while !s.is_empty() {
        let Some((k, r)) = s.split_once('=') else {
            break;
        };
        let r = r.trim_start();
        let (v, r) = if let Some(r) = r.strip_prefix('"') {
            match r.split_once('"') {
                Some((v, r)) => (v, r),
                None => (r, ""),
            }
        } else {
            r.split_once(',').unwrap_or((r, ""))
        };
        params.push((k.trim().to_ascii_lowercase(), v.to_string()));
        s = r.trim_start_matches([',', ' ']);
    }
    (scheme.to_ascii_lowercase(), params)
}

impl Client {
    fn url(&self, path: &str) -> String {
        format!("{}/v2/{}/{path}", self.base, self.repo)
    }

    fn authenticate(&self, url: &str, header: &str) -> Result<(), Error> {
        let (scheme, params) = challenge(header);
        let get = |k: &str| params.iter().find(|(x, _)| x == k).map(|(_, v)| v.clone());
        match scheme.as_str() {
            "basic" => {
                let Some((u, p)) = &self.creds else {
                    return Err(Error::Auth {
                        url: url.to_string(),
                        why: "the registry asks for credentials".into(),
                    });
                };
                *self.auth.lock().map_err(|_| Error::Auth {
                    url: url.into(),
                    why: "lock".into(),
                })? = Some(format!("Basic {}", b64(&format!("{u}:{p}"))));
                Ok(())
            }
            "bearer" => {
                let realm = get("realm").ok_or_else(|| Error::Auth {
                    url: url.to_string(),
                    why: "a bearer challenge without a realm".into(),
                })?;
                // a token over plain HTTP only from a plain-HTTP (loopback) registry
                let plain_ok = realm.starts_with("http://") && self.base.starts_with("http://");
                if !(realm.starts_with("https://") || plain_ok) {
                    return Err(Error::Auth {
                        url: url.to_string(),
                        why: format!("refusing a token service over plain HTTP ({realm})"),
                    });
                }
                let scope =
                    get("scope").unwrap_or_else(|| format!("repository:{}:pull", self.repo));
                let mut req = self.agent.get(&realm).query("scope", &scope);
                if let Some(service) = get("service") {
                    req = req.query("service", &service);
                }
                if let Some((u, p)) = &self.creds {
                    req = req.set(
                        "Authorization",
                        &format!("Basic {}", b64(&format!("{u}:{p}"))),
                    );
                }
                let resp = req.call().map_err(|e| match e {
                    ureq::Error::Status(code, r) => Error::Auth {
                        url: realm.clone(),
                        why: format!("the token service answered {code}: {}", short(r)),
                    },
                    other => Error::Network {
                        url: realm.clone(),
                        why: other.to_string(),
                    },
                })?;
                #[derive(Deserialize)]
                struct Token {
                    token: Option<String>,
                    access_token: Option<String>,
                }
                let mut body = Vec::new();
                resp.into_reader()
                    .take(1 << 20)
                    .read_to_end(&mut body)
                    .map_err(|e| Error::Network {
                        url: realm.clone(),
                        why: e.to_string(),
                    })?;
                let t: Token = serde_json::from_slice(&body).map_err(|e| Error::Auth {
                    url: realm.clone(),
                    why: format!("not a token response: {e}"),
                })?;
                let token = t.token.or(t.access_token).ok_or_else(|| Error::Auth {
                    url: realm.clone(),
                    why: "the token service gave no token".into(),
                })?;
                *self.auth.lock().map_err(|_| Error::Auth {
                    url: url.into(),
                    why: "lock".into(),
                })? = Some(format!("Bearer {token}"));
                Ok(())
            }
            other => Err(Error::Auth {
                url: url.to_string(),
                why: format!("unsupported authentication scheme `{other}`"),
            }),
        }
    }

    fn get(&self, path: &str, accept: &str) -> Result<ureq::Response, Error> {
        let url = self.url(path);
        for attempt in 0..2 {
            let mut req = self.agent.get(&url).set("Accept", accept);
            if let Ok(g) = self.auth.lock()
                && let Some(a) = g.as_ref()
            {
                req = req.set("Authorization", a);
            }
            match req.call() {
                Ok(r) => return Ok(r),
                Err(ureq::Error::Status(401, r)) if attempt == 0 => {
                    let h = r.header("WWW-Authenticate").unwrap_or("").to_string();
                    if h.is_empty() {
                        return Err(Error::Auth {
                            url,
                            why: "401 without a challenge".into(),
                        });
                    }
                    self.authenticate(&url, &h)?;
                }
                Err(ureq::Error::Status(code @ (401 | 403), r)) => {
                    return Err(Error::Auth {
                        url,
                        why: format!("HTTP {code}: {}", short(r)),
                    });
                }
                Err(ureq::Error::Status(code, r)) => {
                    return Err(Error::Http {
                        url,
                        status: code,
                        why: short(r),
                    });
                }
                Err(e) => {
                    // ureq's message starts with the URL already
                    let why = e.to_string();
                    let why = why
                        .strip_prefix(&format!("{url}: "))
                        .unwrap_or(&why)
                        .to_string();
                    return Err(Error::Network { url, why });
                }
            }
        }
        Err(Error::Auth {
            url,
            why: "credentials were refused".into(),
        })
    }

    fn get_bytes(&self, path: &str, accept: &str, max: u64) -> Result<Fetched, Error> {
        let r = self.get(path, accept)?;
        let ct = r.header("Content-Type").map(str::to_string);
        let dcd = r.header("Docker-Content-Digest").map(str::to_string);
        let mut buf = Vec::new();
        r.into_reader()
            .take(max + 1)
            .read_to_end(&mut buf)
            .map_err(|e| Error::Network {
                url: self.url(path),
                why: e.to_string(),
            })?;
        if buf.len() as u64 > max {
            return Err(Error::Format {
                at: self.url(path),
                why: format!("over {max} bytes for a JSON document"),
            });
        }
        Ok((buf, ct, dcd))
    }
}

/// A small document: its bytes, `Content-Type`, `Docker-Content-Digest`.
type Fetched = (Vec<u8>, Option<String>, Option<String>);

fn short(r: ureq::Response) -> String {
    let mut s = String::new();
    let _ = r.into_reader().take(300).read_to_string(&mut s);
    s.trim().replace('\n', " ")
}

fn sha256(b: &[u8]) -> String {
    format!(
        "sha256:{}",
        Sha256::digest(b)
            .iter()
            .map(|x| format!("{x:02x}"))
            .collect::<String>()
    )
}

struct RemoteBlobs(Arc<Client>);

impl Blobs for RemoteBlobs {
    fn fetch(&self, digest: &str) -> Result<Box<dyn Read + Send>, stella_image::Error> {
        let r = self.0.get(&format!("blobs/{digest}"), "*/*").map_err(|e| {
            stella_image::Error::Layer {
                at: digest.to_string(),
                why: e.to_string(),
            }
        })?;
        Ok(Box::new(r.into_reader()))
    }
}

const MANIFEST_TYPES: &str = "application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.list.v2+json, application/vnd.docker.distribution.manifest.v2+json";

#[derive(Deserialize)]
struct Doc {
    #[serde(rename = "schemaVersion", default)]
    schema_version: u32,
    #[serde(rename = "mediaType", default)]
    media_type: String,
    #[serde(default)]
    manifests: Vec<Entry>,
    #[serde(default)]
    config: Option<Desc>,
}

#[derive(Deserialize)]
struct Entry {
    digest: String,
    #[serde(default)]
    platform: Option<Platform>,
}

#[derive(Deserialize)]
struct Platform {
    #[serde(default)]
    os: String,
    #[serde(default)]
    architecture: String,
    #[serde(default)]
    variant: Option<String>,
}

#[derive(Deserialize)]
struct Desc {
    digest: String,
}

/// Opens `reference` (`[registry/]repo[:tag][@digest]`) for a layer walk: fetches the
/// manifest (resolving a multi-platform index to one image) and the config; the layers are
/// fetched when walked.
pub fn open(reference: &str, opts: &Options) -> Result<Image, Error> {
    let r = Reference::parse(reference)?;
    let scheme = if opts.insecure {
        if !is_loopback(&r.registry) {
            return Err(Error::Reference {
                reference: reference.to_string(),
                why: "--insecure (plain HTTP) is only allowed for registries on this machine"
                    .into(),
            });
        }
        "http"
    } else {
        "https"
    };
    let agent = ureq::AgentBuilder::new()
        .timeout_connect(Duration::from_secs(15))
        .timeout_read(Duration::from_secs(120))
        .build();
    let creds = match (&opts.username, &opts.password) {
        (Some(u), Some(p)) => Some((u.clone(), p.clone())),
        _ => None,
    };
    let client = Arc::new(Client {
        agent,
        base: format!("{scheme}://{}", r.registry),
        repo: r.repository.clone(),
        creds,
        auth: Mutex::new(None),
    });
    let mut want = r.reference.clone();
    for _ in 0..3 {
        let (bytes, _ct, header_digest) =
            client.get_bytes(&format!("manifests/{want}"), MANIFEST_TYPES, 4 << 20)?;
        let digest = sha256(&bytes);
        if want.starts_with("sha256:") && digest != want {
            return Err(Error::Format {
                at: client.url(&format!("manifests/{want}")),
                why: format!("the manifest hashes to {digest}, not the digest asked for"),
            });
        }
        if let Some(h) = header_digest.filter(|h| h.starts_with("sha256:"))
            && h != digest
        {
            return Err(Error::Format {
                at: client.url(&format!("manifests/{want}")),
                why: format!("the manifest hashes to {digest}, the registry says {h}"),
            });
        }
        let doc: Doc = serde_json::from_slice(&bytes).map_err(|e| Error::Format {
            at: client.url(&format!("manifests/{want}")),
            why: format!("not a manifest: {e}"),
        })?;
        if doc.schema_version == 1 {
            return Err(Error::Format {
                at: reference.to_string(),
                why: "a Docker schema 1 manifest (obsolete); push the image again with a current tool".into(),
            });
        }
        if !doc.manifests.is_empty() {
            let platform = opts
                .platform
                .clone()
                .unwrap_or_else(stella_image::host_platform);
            let mut parts = platform.split('/');
            let (os, arch, variant) = (parts.next(), parts.next(), parts.next());
            let pick = doc.manifests.iter().find(|m| {
                m.platform.as_ref().is_some_and(|p| {
                    Some(p.os.as_str()) == os
                        && Some(p.architecture.as_str()) == arch
                        && variant.is_none_or(|v| p.variant.as_deref() == Some(v))
                })
            });
            let Some(m) = pick else {
                let have: Vec<String> = doc
                    .manifests
                    .iter()
                    .filter_map(|m| {
                        m.platform
                            .as_ref()
                            .map(|p| format!("{}/{}", p.os, p.architecture))
                    })
                    .collect();
                return Err(Error::Format {
                    at: reference.to_string(),
                    why: format!(
                        "no image for {platform} (has {})\nhint: pass --platform",
                        have.join(", ")
                    ),
                });
            };
            want = m.digest.clone();
            continue;
        }
        let Some(config) = doc.config else {
            return Err(Error::Format {
                at: reference.to_string(),
                why: format!("a manifest without a config ({})", doc.media_type),
            });
        };
        let (cfg, _, _) = client.get_bytes(&format!("blobs/{}", config.digest), "*/*", 16 << 20)?;
        if sha256(&cfg) != config.digest {
            return Err(Error::Format {
                at: client.url(&format!("blobs/{}", config.digest)),
                why: "the config does not match its digest".into(),
            });
        }
        let name = format!("{}/{}:{}", r.registry, r.repository, r.reference);
        return Ok(Image::from_remote(
            &name,
            &digest,
            &bytes,
            &cfg,
            Box::new(RemoteBlobs(client.clone())),
        )?);
    }
    Err(Error::Format {
        at: reference.to_string(),
        why: "indexes nest too deep".into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references() {
        let r = Reference::parse("alpine").unwrap();
        assert_eq!(
            (
                r.registry.as_str(),
                r.repository.as_str(),
                r.reference.as_str()
            ),
            ("registry-1.docker.io", "library/alpine", "latest")
        );
        let r = Reference::parse("127.0.0.1:5000/team/app:1.2").unwrap();
        assert_eq!(
            (
                r.registry.as_str(),
                r.repository.as_str(),
                r.reference.as_str()
            ),
            ("127.0.0.1:5000", "team/app", "1.2")
        );
        let d = format!("ghcr.io/o/r@sha256:{}", "a".repeat(64));
        assert_eq!(
            Reference::parse(&d).unwrap().reference,
            format!("sha256:{}", "a".repeat(64))
        );
        assert!(Reference::parse("Upper/Case").is_err());
        assert!(Reference::parse("x@md5:abc").is_err());
        assert!(
            is_loopback("127.0.0.1:5000")
                && is_loopback("localhost:80")
                && !is_loopback("example.com")
        );
        assert_eq!(b64("user:pass"), "dXNlcjpwYXNz");
        let (s, p) = challenge(
            r#"Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/alpine:pull""#,
        );
        assert_eq!(s, "bearer");
        assert_eq!(
            p[2],
            ("scope".into(), "repository:library/alpine:pull".into())
        );
    }
}
