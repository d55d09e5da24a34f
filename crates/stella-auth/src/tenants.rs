//! Tenants (teams or projects) and the role a principal has in each: what a token may do is
//! the role's actions that its scopes also grant.

use serde::{Deserialize, Serialize};

/// The tenant everything lives in when no tenants are configured.
pub const DEFAULT_TENANT: &str = "default";

/// A principal's role in one tenant (Harbor's project roles, Dependency-Track's teams).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    /// Reads the tenant's images, scans, history, policy and mutes.
    Viewer,
    /// A viewer who also scans (and uploads layer fragments).
    Scanner,
    /// A viewer who also changes the policy and mutes.
    PolicyEditor,
    /// Everything in the tenant: scans, policy, its members and its audit log.
    Admin,
}

/// What a request does inside a tenant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Read anything of the tenant.
    Read,
    /// Submit scans, upload fragments, re-scan.
    Scan,
    /// Change the policy, mute and unmute.
    Policy,
    /// Manage the tenant's members, read its audit log.
    Manage,
}

impl Role {
    /// The role's name (`viewer`, `scanner`, `policy-editor`, `admin`).
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Scanner => "scanner",
            Role::PolicyEditor => "policy-editor",
            Role::Admin => "admin",
        }
    }

    /// Reads a role's name.
    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "viewer" => Some(Role::Viewer),
            "scanner" => Some(Role::Scanner),
            "policy-editor" => Some(Role::PolicyEditor),
            "admin" => Some(Role::Admin),
            _ => None,
        }
    }

    /// Whether the role may do `action`.
    pub fn allows(self, action: Action) -> bool {
        match action {
            Action::Read => true,
            Action::Scan => matches!(self, Role::Scanner | Role::Admin),
            Action::Policy => matches!(self, Role::PolicyEditor | Role::Admin),
            Action::Manage => self == Role::Admin,
        }
    }

    /// The token scope an action needs besides the role (the token's own ceiling).
    pub fn scope_for(action: Action) -> Option<crate::Scope> {
        match action {
            Action::Read => None,
            Action::Scan => Some(crate::Scope::Scan),
            Action::Policy => Some(crate::Scope::PolicyWrite),
            Action::Manage => Some(crate::Scope::Admin),
        }
    }
}

/// A tenant as the directory keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TenantInfo {
    /// A name for people (the id is the key).
    pub name: String,
    /// Created (seconds since the epoch).
    pub created: u64,
    /// Scans a UTC day over all the tenant's tokens together (each token keeps its own
    /// limit too); none: only the tokens' limits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub daily_scans: Option<u32>,
}

/// Whether `id` is a tenant id: 1 to 63 of `a-z 0-9 -`, starting and ending with a letter
/// or digit (a DNS label; the store checks the same rule).
pub fn valid_tenant_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 63
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !id.starts_with('-')
        && !id.ends_with('-')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_allow_what_they_say() {
        use Action::*;
        let table = [
            (Role::Viewer, [true, false, false, false]),
            (Role::Scanner, [true, true, false, false]),
            (Role::PolicyEditor, [true, false, true, false]),
            (Role::Admin, [true, true, true, true]),
        ];
        for (role, want) in table {
            let got = [Read, Scan, Policy, Manage].map(|a| role.allows(a));
            assert_eq!(got, want, "{role:?}");
            assert_eq!(Role::parse(role.as_str()), Some(role));
        }
        assert_eq!(Role::parse("root"), None);
        assert_eq!(
            serde_json::to_string(&Role::PolicyEditor).unwrap(),
            "\"policy-editor\""
        );
    }
}
