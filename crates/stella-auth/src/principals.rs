//! Clients and users: who may get a token, with which scopes and which quota.

use std::collections::BTreeMap;

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier as _, SaltString};
use serde::{Deserialize, Serialize};

use crate::{Claims, DEFAULT_TENANT, Error, Role, TenantInfo, valid_tenant_id};

/// What a token may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Scope {
    /// Submit scans, read results, upload layer fragments.
    Scan,
    /// Change the policy and mutes.
    PolicyWrite,
    /// Everything, including offline tokens.
    Admin,
}

impl Scope {
    /// The scope's name in tokens.
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Scan => "scan",
            Scope::PolicyWrite => "policy:write",
            Scope::Admin => "admin",
        }
    }

    /// Reads a scope name.
    pub fn parse(s: &str) -> Result<Scope, Error> {
        match s {
            "scan" => Ok(Scope::Scan),
            "policy:write" => Ok(Scope::PolicyWrite),
            "admin" => Ok(Scope::Admin),
            other => Err(Error::UnknownScope(other.to_string())),
        }
    }
}

/// A machine client (`client_credentials`) or a person (`password`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// A pipeline or service.
    Client,
    /// A person using the UI.
    User,
}

impl Kind {
    /// `client` or `user`: the prefix of subjects and the word in routes and messages.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Client => "client",
            Kind::User => "user",
        }
    }

    /// Reads `client` or `user`.
    pub fn parse(s: &str) -> Option<Kind> {
        match s {
            "client" => Some(Kind::Client),
            "user" => Some(Kind::User),
            _ => None,
        }
    }
}

/// Someone who may get tokens.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Principal {
    /// Client or user.
    pub kind: Kind,
    /// The client id or user name.
    pub name: String,
    /// The secret's argon2 hash (PHC string).
    pub secret_hash: String,
    /// Scopes granted.
    pub scopes: Vec<String>,
    /// The plan.
    pub tier: String,
    /// Daily scan limit.
    pub max_scans_per_day: u32,
    /// The quota account.
    pub tid: String,
    /// Created (seconds since the epoch).
    pub created: u64,
    /// No more tokens for it.
    #[serde(default)]
    pub disabled: bool,
    /// Its role in each tenant it belongs to. Empty: a principal stored before tenants
    /// existed, an admin of the default tenant (its scopes still limit its tokens).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tenants: BTreeMap<String, Role>,
    /// Whether it administers the installation (tenants, keys, feeds, every audit entry).
    /// Unset for principals stored before tenants existed: those with the `admin` scope do.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub installation_admin: Option<bool>,
}

impl Principal {
    /// Its role in `tenant`, if it belongs to it.
    pub fn role_in(&self, tenant: &str) -> Option<Role> {
        if self.tenants.is_empty() {
            return (tenant == DEFAULT_TENANT).then_some(Role::Admin);
        }
        self.tenants.get(tenant).copied()
    }

    /// The tenant it belongs to when it belongs to exactly one (no allocation: asked on
    /// every request that names no tenant).
    pub fn only_tenant(&self) -> Option<&str> {
        match self.tenants.len() {
            0 => Some(DEFAULT_TENANT),
            1 => self.tenants.keys().next().map(String::as_str),
            _ => None,
        }
    }

    /// Every tenant it belongs to, with its role, in tenant order.
    pub fn memberships(&self) -> Vec<(String, Role)> {
        if self.tenants.is_empty() {
            return vec![(DEFAULT_TENANT.to_string(), Role::Admin)];
        }
        self.tenants.iter().map(|(t, r)| (t.clone(), *r)).collect()
    }

    /// Whether it administers the installation.
    pub fn is_installation_admin(&self) -> bool {
        self.installation_admin
            .unwrap_or_else(|| self.scopes.iter().any(|s| s == Scope::Admin.as_str()))
    }

    /// `client:NAME` or `user:NAME`.
    pub fn subject(&self) -> String {
        key(self.kind, &self.name)
    }

    /// Claims for a token of this principal, restricted to `requested` scopes when given.
    pub fn claims(
        &self,
        iss: &str,
        now: u64,
        lifetime: u64,
        requested: Option<&str>,
    ) -> Result<Claims, Error> {
        let scope = match requested.map(str::trim).filter(|r| !r.is_empty()) {
            None => self.scopes.join(" "),
            Some(r) => {
                let mut out = Vec::new();
                for s in r.split_ascii_whitespace() {
                    Scope::parse(s)?;
                    if !self.scopes.iter().any(|g| g == s || g == "admin") {
                        return Err(Error::Invalid(format!(
                            "`{}` may not have the scope `{s}`",
                            self.name
                        )));
                    }
                    out.push(s);
                }
                out.join(" ")
            }
        };
        Ok(Claims {
            iss: iss.to_string(),
            sub: self.subject(),
            tid: self.tid.clone(),
            tier: self.tier.clone(),
            max_scans_per_day: self.max_scans_per_day,
            scope,
            iat: now,
            exp: now + lifetime.min(crate::MAX_LIFETIME_SECS),
            jti: crate::random_hex::<12>()?,
            offline: lifetime > crate::ONLINE_SECS,
        })
    }
}

/// Hashes a secret for storage (argon2id, a random salt).
pub fn hash_secret(secret: &str) -> Result<String, Error> {
    let salt = SaltString::encode_b64(&crate::random_bytes::<16>()?)
        .map_err(|e| Error::Invalid(e.to_string()))?;
    Argon2::default()
        .hash_password(secret.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| Error::Invalid(e.to_string()))
}

/// Whether `secret` matches a stored hash.
pub fn verify_secret(secret: &str, hash: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|h| {
        Argon2::default()
            .verify_password(secret.as_bytes(), &h)
            .is_ok()
    })
}

/// Every client and user, keyed by `kind:name`, and the tenants they belong to.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Directory {
    principals: BTreeMap<String, Principal>,
    /// Tenants besides the default one (which always exists).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    tenants: BTreeMap<String, TenantInfo>,
}

fn key(kind: Kind, name: &str) -> String {
    format!("{}:{name}", kind.as_str())
}

impl Directory {
    /// Reads a stored directory.
    pub fn from_json(bytes: &[u8]) -> Result<Directory, Error> {
        serde_json::from_slice(bytes)
            .map_err(|e| Error::Invalid(format!("the stored client list is unreadable: {e}")))
    }

    /// The directory as stored.
    pub fn to_json(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// Adds a client or user with a new random secret (for clients) or the given password;
    /// returns the secret, shown once.
    #[allow(clippy::too_many_arguments)]
    pub fn add(
        &mut self,
        kind: Kind,
        name: &str,
        secret: Option<&str>,
        scopes: &[String],
        tier: &str,
        max_scans_per_day: u32,
        now: u64,
    ) -> Result<String, Error> {
        if name.is_empty()
            || name.len() > 128
            || !name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.@".contains(&b))
        {
            return Err(Error::Invalid(format!(
                "`{name}`: names are 1–128 characters of letters, digits and - _ . @"
            )));
        }
        if self.principals.contains_key(&key(kind, name)) {
            return Err(Error::Invalid(format!(
                "`{name}` exists already; remove it first"
            )));
        }
        for s in scopes {
            Scope::parse(s)?;
        }
        if scopes.is_empty() {
            return Err(Error::Invalid("give at least one scope".into()));
        }
        let secret = match secret {
            Some(s) if s.len() < 12 => {
                return Err(Error::Invalid(
                    "passwords have at least 12 characters".into(),
                ));
            }
            Some(s) => s.to_string(),
            None => crate::random_hex::<24>()?,
        };
        let mut scopes = scopes.to_vec();
        scopes.sort();
        scopes.dedup();
        self.principals.insert(
            key(kind, name),
            Principal {
                kind,
                name: name.to_string(),
                secret_hash: hash_secret(&secret)?,
                scopes,
                tier: tier.to_string(),
                max_scans_per_day,
                tid: crate::random_hex::<8>()?,
                created: now,
                disabled: false,
                tenants: BTreeMap::new(),
                installation_admin: None,
            },
        );
        Ok(secret)
    }

    /// Creates a tenant.
    pub fn add_tenant(&mut self, id: &str, name: &str, now: u64) -> Result<(), Error> {
        if !valid_tenant_id(id) {
            return Err(Error::Invalid(format!(
                "`{id}`: tenant ids are 1–63 lowercase letters, digits and inner hyphens"
            )));
        }
        if self.has_tenant(id) {
            return Err(Error::Invalid(format!("the tenant `{id}` exists already")));
        }
        self.tenants.insert(
            id.to_string(),
            TenantInfo {
                name: if name.is_empty() { id } else { name }.to_string(),
                created: now,
                daily_scans: None,
            },
        );
        Ok(())
    }

    /// Whether `id` is a tenant (the default tenant always is).
    pub fn has_tenant(&self, id: &str) -> bool {
        id == DEFAULT_TENANT || self.tenants.contains_key(id)
    }

    /// A tenant's record (the default tenant's is made up).
    pub fn tenant(&self, id: &str) -> Option<TenantInfo> {
        match self.tenants.get(id) {
            Some(t) => Some(t.clone()),
            None if id == DEFAULT_TENANT => Some(TenantInfo {
                name: "Default".into(),
                created: 0,
                daily_scans: None,
            }),
            None => None,
        }
    }

    /// A tenant's daily cap over all its tokens, if it has one.
    pub fn tenant_cap(&self, id: &str) -> Option<u32> {
        self.tenants.get(id).and_then(|t| t.daily_scans)
    }

    /// Sets (or with `None` lifts) a tenant's daily cap; `false` when there is no such
    /// tenant. A cap of 0 stops the tenant's scans for the day.
    pub fn set_tenant_cap(&mut self, id: &str, cap: Option<u32>) -> bool {
        if !self.tenants.contains_key(id) {
            if id != DEFAULT_TENANT {
                return false;
            }
            let t = self.tenant(id).unwrap_or(TenantInfo {
                name: "Default".into(),
                created: 0,
                daily_scans: None,
            });
            self.tenants.insert(id.to_string(), t);
        }
        if let Some(t) = self.tenants.get_mut(id) {
            t.daily_scans = cap;
        }
        true
    }

    /// Every tenant id, the default one included, sorted.
    pub fn tenant_ids(&self) -> Vec<String> {
        let mut v: Vec<String> = self.tenants.keys().cloned().collect();
        if !self.tenants.contains_key(DEFAULT_TENANT) {
            v.push(DEFAULT_TENANT.to_string());
        }
        v.sort();
        v
    }

    /// Removes a tenant that nobody belongs to any more (the default one stays).
    pub fn remove_tenant(&mut self, id: &str) -> Result<bool, Error> {
        if id == DEFAULT_TENANT {
            return Err(Error::Invalid(
                "the default tenant cannot be removed".into(),
            ));
        }
        if let Some(p) = self
            .principals
            .values()
            .find(|p| p.tenants.contains_key(id))
        {
            return Err(Error::Invalid(format!(
                "`{}` still belongs to `{id}`; remove its members first",
                p.subject()
            )));
        }
        Ok(self.tenants.remove(id).is_some())
    }

    /// Sets (or with `None` ends) a principal's membership of a tenant. A principal stored
    /// before tenants existed keeps its default-tenant membership explicitly from then on.
    pub fn set_role(
        &mut self,
        kind: Kind,
        name: &str,
        tenant: &str,
        role: Option<Role>,
    ) -> Result<(), Error> {
        if !self.has_tenant(tenant) {
            return Err(Error::Invalid(format!("there is no tenant `{tenant}`")));
        }
        let p = self
            .principals
            .get_mut(&key(kind, name))
            .ok_or_else(|| Error::Invalid(format!("no {} `{name}`", kind.as_str())))?;
        if p.tenants.is_empty() {
            p.tenants.insert(DEFAULT_TENANT.to_string(), Role::Admin);
            if p.installation_admin.is_none() {
                p.installation_admin = Some(p.scopes.iter().any(|s| s == "admin"));
            }
        }
        match role {
            Some(r) => {
                p.tenants.insert(tenant.to_string(), r);
            }
            None => {
                p.tenants.remove(tenant);
            }
        }
        Ok(())
    }

    /// Makes a principal an installation admin, or not.
    pub fn set_installation_admin(
        &mut self,
        kind: Kind,
        name: &str,
        on: bool,
    ) -> Result<(), Error> {
        let p = self
            .principals
            .get_mut(&key(kind, name))
            .ok_or_else(|| Error::Invalid(format!("no {} `{name}`", kind.as_str())))?;
        p.installation_admin = Some(on);
        Ok(())
    }

    /// Replaces a principal's memberships (at least one; every tenant must exist).
    pub fn set_memberships(
        &mut self,
        kind: Kind,
        name: &str,
        tenants: &BTreeMap<String, Role>,
    ) -> Result<(), Error> {
        if tenants.is_empty() {
            return Err(Error::Invalid("give at least one tenant".into()));
        }
        if let Some(t) = tenants.keys().find(|t| !self.has_tenant(t)) {
            return Err(Error::Invalid(format!("there is no tenant `{t}`")));
        }
        let p = self
            .principals
            .get_mut(&key(kind, name))
            .ok_or_else(|| Error::Invalid(format!("no {} `{name}`", kind.as_str())))?;
        if p.installation_admin.is_none() {
            p.installation_admin = Some(p.scopes.iter().any(|s| s == "admin"));
        }
        p.tenants = tenants.clone();
        Ok(())
    }

    /// Removes a client or user; whether it existed.
    pub fn remove(&mut self, kind: Kind, name: &str) -> bool {
        self.principals.remove(&key(kind, name)).is_some()
    }

    /// A client or user.
    pub fn get(&self, kind: Kind, name: &str) -> Option<&Principal> {
        self.principals.get(&key(kind, name))
    }

    /// Every principal, sorted.
    pub fn iter(&self) -> impl Iterator<Item = &Principal> {
        self.principals.values()
    }

    /// Whether there is nobody yet.
    pub fn is_empty(&self) -> bool {
        self.principals.is_empty()
    }

    /// Checks credentials. An unknown name costs as much as a wrong secret.
    pub fn authenticate(&self, kind: Kind, name: &str, secret: &str) -> Result<&Principal, Error> {
        // a fixed hash of a random string: verifying against it takes as long as a real check
        const DUMMY: &str = "$argon2id$v=19$m=19456,t=2,p=1$c3RlbGxhLWR1bW15LXNhbHQ$0ZpGBR2f6L2VzfXyHMUd1WrjSgCN45Dmy2uwN6sBvf4";
        match self.principals.get(&key(kind, name)) {
            Some(p) if verify_secret(secret, &p.secret_hash) => {
                if p.disabled {
                    Err(Error::Disabled(name.to_string()))
                } else {
                    Ok(p)
                }
            }
            Some(_) => Err(Error::Credentials),
            None => {
                let _ = verify_secret(secret, DUMMY);
                Err(Error::Credentials)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clients_authenticate_with_their_secret_only() {
        let mut d = Directory::default();
        let s = d
            .add(Kind::Client, "ci", None, &["scan".into()], "Free", 333, 1)
            .unwrap();
        assert_eq!(s.len(), 48);
        let p = d.authenticate(Kind::Client, "ci", &s).unwrap();
        assert_eq!(p.subject(), "client:ci");
        assert!(!p.secret_hash.contains(&s), "only the hash is kept");
        assert_eq!(
            d.authenticate(Kind::Client, "ci", "wrong"),
            Err(Error::Credentials)
        );
        assert_eq!(
            d.authenticate(Kind::User, "ci", &s),
            Err(Error::Credentials),
            "a client is not a user"
        );
        assert_eq!(
            d.authenticate(Kind::Client, "nobody", &s),
            Err(Error::Credentials)
        );
        // survives storage
        let d2 = Directory::from_json(&d.to_json()).unwrap();
        assert!(d2.authenticate(Kind::Client, "ci", &s).is_ok());
    }

    #[test]
    fn principals_belong_to_tenants_with_roles() {
        let mut d = Directory::default();
        d.add(
            Kind::Client,
            "old",
            None,
            &["scan".into(), "admin".into()],
            "Free",
            333,
            1,
        )
        .unwrap();
        d.add(Kind::Client, "ci", None, &["scan".into()], "Free", 333, 1)
            .unwrap();
        // stored before tenants: the default tenant's admin; the admin scope runs the place
        let old = d.get(Kind::Client, "old").unwrap();
        assert_eq!(old.role_in(DEFAULT_TENANT), Some(Role::Admin));
        assert_eq!(old.role_in("team-a"), None);
        assert!(old.is_installation_admin());
        assert!(!d.get(Kind::Client, "ci").unwrap().is_installation_admin());
        assert!(
            d.set_role(Kind::Client, "ci", "team-a", Some(Role::Scanner))
                .is_err()
        );
        d.add_tenant("team-a", "Team A", 2).unwrap();
        assert!(d.add_tenant("team-a", "", 2).is_err());
        assert!(d.add_tenant("Team_B", "", 2).is_err());
        d.set_memberships(
            Kind::Client,
            "ci",
            &[("team-a".to_string(), Role::Scanner)].into(),
        )
        .unwrap();
        let ci = d.get(Kind::Client, "ci").unwrap();
        assert_eq!(ci.role_in("team-a"), Some(Role::Scanner));
        assert_eq!(
            ci.role_in(DEFAULT_TENANT),
            None,
            "no longer in the default tenant"
        );
        // a legacy principal keeps its default membership when given another
        d.set_role(Kind::Client, "old", "team-a", Some(Role::Viewer))
            .unwrap();
        let old = d.get(Kind::Client, "old").unwrap();
        assert_eq!(old.role_in(DEFAULT_TENANT), Some(Role::Admin));
        assert_eq!(old.role_in("team-a"), Some(Role::Viewer));
        assert!(old.is_installation_admin());
        assert!(d.remove_tenant("team-a").is_err(), "it still has members");
        assert!(d.remove_tenant(DEFAULT_TENANT).is_err());
        assert_eq!(d.tenant_ids(), ["default", "team-a"]);
        let d2 = Directory::from_json(&d.to_json()).unwrap();
        assert_eq!(d2, d);
    }

    #[test]
    fn the_dummy_hash_is_a_valid_phc_string() {
        // else unknown names would answer faster than wrong secrets
        assert!(PasswordHash::new(
            "$argon2id$v=19$m=19456,t=2,p=1$c3RlbGxhLWR1bW15LXNhbHQ$0ZpGBR2f6L2VzfXyHMUd1WrjSgCN45Dmy2uwN6sBvf4"
        )
        .is_ok());
    }

    #[test]
    fn scopes_names_and_passwords_are_checked() {
        let mut d = Directory::default();
        assert_eq!(
            d.add(Kind::Client, "x", None, &["root".into()], "Free", 333, 1),
            Err(Error::UnknownScope("root".into()))
        );
        assert!(
            d.add(Kind::Client, "../x", None, &["scan".into()], "Free", 333, 1)
                .is_err()
        );
        assert!(
            d.add(
                Kind::User,
                "ann",
                Some("short"),
                &["scan".into()],
                "Free",
                333,
                1
            )
            .is_err()
        );
        d.add(
            Kind::User,
            "ann",
            Some("a long password"),
            &["scan".into()],
            "Free",
            333,
            1,
        )
        .unwrap();
        assert!(
            d.add(
                Kind::User,
                "ann",
                Some("a long password"),
                &["scan".into()],
                "Free",
                333,
                1
            )
            .is_err()
        );
        let p = d.get(Kind::User, "ann").unwrap();
        let c = p.claims("iss", 10, crate::ONLINE_SECS, None).unwrap();
        assert_eq!(c.scope, "scan");
        assert!(!c.offline);
        assert!(
            p.claims("iss", 10, crate::ONLINE_SECS, Some("admin"))
                .is_err()
        );
        assert!(c.has_scope("scan") && !c.has_scope("admin"));
        let c = p.claims("iss", 10, 400 * 86_400, Some("scan")).unwrap();
        assert_eq!(c.exp, 10 + crate::MAX_LIFETIME_SECS, "never beyond 90 days");
        assert!(c.offline);
    }
}
