//! The stored identity — signing keys, clients and users — as `stella token …` manages it on
//! a stopped Core's data directory (the store is locked while Core runs).

use std::path::{Path, PathBuf};

use stella_auth::{Directory, Keyring, Kind};

use crate::Error;

/// Where the keyring, the directory and the issuer live in the store.
pub(crate) const KEYRING_DOC: &str = "auth/keyring";
pub(crate) const DIRECTORY_DOC: &str = "auth/directory";
pub(crate) const ISSUER_DOC: &str = "auth/issuer";

/// A data directory's identity, opened for administration.
#[derive(Debug)]
pub struct Admin {
    store: stella_store::Store,
    /// Signing keys.
    pub keys: Keyring,
    /// Clients and users.
    pub directory: Directory,
}

fn locked(data: &Path, e: stella_store::Error) -> Error {
    let m = e.to_string();
    if m.contains("already open") || m.contains("lock") {
        Error::Io(format!(
            "{}: the store is in use (is `stella serve` running on it?); stop Core first, or use its API as an admin (/api/v1/principals, /api/v1/keys/rotate, /api/v1/token/offline)",
            data.display()
        ))
    } else {
        Error::Store(e)
    }
}

impl Admin {
    /// Opens the identity of `data` (creating a keyring when there is none), or with
    /// `scaled`, the identity Core replicas share in PostgreSQL (while they run: they follow
    /// changes within a second).
    pub fn open(data: &Path, scaled: Option<&stella_store::ScaledOptions>) -> Result<Admin, Error> {
        let store = match scaled {
            Some(o) => stella_store::Store::scaled(o)?,
            None => stella_store::Store::open(data, 10_000).map_err(|e| locked(data, e))?,
        };
        let (keys, directory) = load(&store)?;
        Ok(Admin {
            store,
            keys,
            directory,
        })
    }

    /// Stores the keyring and directory, with an audit entry.
    pub fn save(&self, action: &str, detail: &str) -> Result<(), Error> {
        self.store.put_doc(KEYRING_DOC, &self.keys.to_json())?;
        self.store
            .put_doc(DIRECTORY_DOC, &self.directory.to_json())?;
        self.store
            .audit(&crate::audit_entry("stella token", action, detail))?;
        Ok(())
    }

    /// The issuer Core last ran with (`iss` of the tokens it accepts).
    pub fn issuer(&self) -> Result<Option<String>, Error> {
        Ok(self
            .store
            .get_doc(ISSUER_DOC)?
            .and_then(|b| String::from_utf8(b).ok()))
    }

    /// Mints a token for a client or user of this directory.
    pub fn mint(
        &self,
        kind: Kind,
        name: &str,
        issuer: &str,
        lifetime_secs: u64,
    ) -> Result<(String, stella_auth::Claims), Error> {
        let p = self.directory.get(kind, name).ok_or_else(|| {
            Error::Io(format!(
                "no {} `{name}`; see `stella token list`",
                kind.as_str()
            ))
        })?;
        let claims = p.claims(issuer, crate::auth::now_secs(), lifetime_secs, None)?;
        let jwt = self.keys.sign(&claims)?;
        self.store.audit(&crate::audit_entry(
            "stella token",
            "token.offline",
            &format!("{} until {}", p.subject(), claims.exp),
        ))?;
        Ok((jwt, claims))
    }
}

pub(crate) fn load(store: &stella_store::Store) -> Result<(Keyring, Directory), Error> {
    let keys = match store.get_doc(KEYRING_DOC)? {
        Some(b) => Keyring::from_json(&b)?,
        None => {
            let k = Keyring::generate(crate::auth::now_secs())?;
            store.put_doc(KEYRING_DOC, &k.to_json())?;
            k
        }
    };
    let dir = match store.get_doc(DIRECTORY_DOC)? {
        Some(b) => Directory::from_json(&b)?,
        None => Directory::default(),
    };
    Ok((keys, dir))
}

/// The keyring and client directory from the store, created on the first start: a new
/// signing key and, when nobody may log in yet, an `admin` client whose secret is written to
/// `DATA/admin.secret` (readable by the owner only). Records the issuer for `stella token`.
pub(crate) fn load_identity(
    store: &stella_store::Store,
    data: &Path,
    issuer: &str,
) -> Result<(Keyring, Directory, Option<PathBuf>), Error> {
    let (keys, mut dir) = load(store)?;
    // a worker (no issuer) leaves the replicas' issuer as it is
    if !issuer.is_empty() {
        store.put_doc(ISSUER_DOC, issuer.as_bytes())?;
    }
    let mut bootstrap = None;
    if dir.is_empty() {
        let secret = dir.add(
            Kind::Client,
            "admin",
            None,
            &["admin".to_string()],
            "Free",
            333,
            crate::auth::now_secs(),
        )?;
        let path = data.join("admin.secret");
        write_private(&path, &secret)
            .map_err(|e| Error::Io(format!("{}: cannot write: {e}", path.display())))?;
        store.put_doc(DIRECTORY_DOC, &dir.to_json())?;
        store.audit(&crate::audit_entry(
            "stella",
            "client.add",
            "client:admin (first start)",
        ))?;
        bootstrap = Some(path);
    }
    Ok((keys, dir, bootstrap))
}

/// Writes a secret readable by the owner only.
fn write_private(path: &Path, secret: &str) -> std::io::Result<()> {
    use std::io::Write as _;
    let mut o = std::fs::OpenOptions::new();
    o.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        o.mode(0o600);
    }
    let mut f = o.open(path)?;
    f.write_all(secret.as_bytes())?;
    f.write_all(b"\n")?;
    f.sync_all()
}
