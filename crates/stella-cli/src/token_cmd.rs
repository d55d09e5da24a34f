//! `stella token …`: clients, users, keys and offline tokens of a Core data directory, and
//! fetching a token from a running Core.

use anyhow::{Context as _, bail};
use stella_auth::Kind;
use stella_core::identity::Admin;

use crate::cli::{TokenAddArgs, TokenCommand, TokenGetArgs};
use crate::exit;

pub(crate) fn run(c: TokenCommand) -> anyhow::Result<u8> {
    match c {
        TokenCommand::AddClient(a) => add(Kind::Client, a),
        TokenCommand::AddUser(a) => add(Kind::User, a),
        TokenCommand::List(d) => {
            let admin = Admin::open(&d.data, d.scaled().as_ref())?;
            outln!(
                "KIND    NAME                 SCOPES               TIER   LIMIT  TID               CREATED"
            );
            for p in admin.directory.iter() {
                outln!(
                    "{:<7} {:<20} {:<20} {:<6} {:<6} {:<17} {}{}",
                    p.kind.as_str(),
                    p.name,
                    p.scopes.join(","),
                    p.tier,
                    p.max_scans_per_day,
                    p.tid,
                    stella_sbom::rfc3339(p.created as i64),
                    if p.disabled { " (disabled)" } else { "" }
                );
            }
            for k in admin.keys.keys() {
                eprintln!(
                    "signing key {} created {}{}",
                    k.kid,
                    stella_sbom::rfc3339(k.created as i64),
                    k.retired.map_or(" (signs)".to_string(), |r| format!(
                        " (retired {}, verifies until its tokens expire)",
                        stella_sbom::rfc3339(r as i64)
                    ))
                );
            }
            Ok(exit::OK)
        }
        TokenCommand::Remove(r) => {
            let mut admin = Admin::open(&r.data.data, r.data.scaled().as_ref())?;
            let kind = if r.user { Kind::User } else { Kind::Client };
            if !admin.directory.remove(kind, &r.name) {
                eprintln!(
                    "error: no such {} `{}`",
                    if r.user { "user" } else { "client" },
                    r.name
                );
                return Ok(exit::NOT_FOUND);
            }
            admin.save("principal.remove", &r.name)?;
            eprintln!(
                "removed `{}`; tokens it already holds stay valid until they expire (rotate the key with `stella token rotate-key` to end them at once)",
                r.name
            );
            Ok(exit::OK)
        }
        TokenCommand::RotateKey(d) => {
            let mut admin = Admin::open(&d.data, d.scaled().as_ref())?;
            admin.keys.rotate(stella_core::now_secs())?;
            let kid = admin
                .keys
                .keys()
                .last()
                .map(|k| k.kid.clone())
                .unwrap_or_default();
            admin.save("key.rotate", &kid)?;
            eprintln!(
                "now signing with key {kid}; earlier tokens stay valid until they expire (restart Core to use it)"
            );
            Ok(exit::OK)
        }
        TokenCommand::Offline(o) => {
            if !(1..=90).contains(&o.days) {
                bail!("--days {}: offline tokens live 1 to 90 days", o.days);
            }
            let admin = Admin::open(&o.data.data, o.data.scaled().as_ref())?;
            let issuer = match o.issuer.or(admin.issuer()?) {
                Some(i) => i,
                None => bail!(
                    "Core has never run on {}; give --issuer URL",
                    o.data.data.display()
                ),
            };
            let (jwt, claims) = admin.mint(Kind::Client, &o.client, &issuer, o.days * 86_400)?;
            outln!("{jwt}");
            eprintln!(
                "offline token for client:{} (tid {}), expires {}",
                o.client,
                claims.tid,
                stella_sbom::rfc3339(claims.exp as i64)
            );
            Ok(exit::OK)
        }
        TokenCommand::Get(g) => get(g),
    }
}

fn add(kind: Kind, a: TokenAddArgs) -> anyhow::Result<u8> {
    let mut admin = Admin::open(&a.data.data, a.data.scaled().as_ref())?;
    let password = match kind {
        Kind::Client => None,
        Kind::User => {
            let mut p = String::new();
            std::io::stdin()
                .read_line(&mut p)
                .context("reading the password from standard input")?;
            Some(p.trim_end_matches(['\r', '\n']).to_string())
        }
    };
    let secret = admin.directory.add(
        kind,
        &a.name,
        password.as_deref(),
        &a.scopes,
        &a.tier,
        a.max_scans_per_day,
        stella_core::now_secs(),
    )?;
    admin.save("principal.add", &a.name)?;
    match kind {
        Kind::Client => {
            outln!("client_id={}", a.name);
            outln!("client_secret={secret}");
            eprintln!("the secret is shown only now; Core keeps only its argon2 hash");
        }
        Kind::User => eprintln!("user `{}` added", a.name),
    }
    Ok(exit::OK)
}

/// Fetches a token with client_credentials.
/// The bearer token a `--server` command uses: `--token` (or `STELLA_TOKEN`) as given, else
/// one fetched with `STELLA_CLIENT_ID` and `STELLA_CLIENT_SECRET`; `who` names the command in
/// the error when neither is there.
pub(crate) fn bearer_token(server: &str, token: Option<&str>, who: &str) -> anyhow::Result<String> {
    if let Some(t) = token {
        return Ok(t.trim().to_string());
    }
    match (
        std::env::var("STELLA_CLIENT_ID"),
        std::env::var("STELLA_CLIENT_SECRET"),
    ) {
        (Ok(id), Ok(secret)) => fetch_token(server, &id, &secret, None),
        _ => anyhow::bail!(
            "{who} needs --token (or STELLA_TOKEN, or STELLA_CLIENT_ID and STELLA_CLIENT_SECRET)"
        ),
    }
}

/// The token endpoint did not answer at all (as opposed to refusing the credentials).
#[derive(Debug)]
pub(crate) struct Unreachable(pub String);

impl std::fmt::Display for Unreachable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Unreachable {}

pub(crate) fn fetch_token(
    server: &str,
    client_id: &str,
    secret: &str,
    scope: Option<&str>,
) -> anyhow::Result<String> {
    let url = format!("{}/connect/token", server.trim_end_matches('/'));
    let mut form = vec![
        ("grant_type", "client_credentials"),
        ("client_id", client_id),
        ("client_secret", secret),
    ];
    if let Some(s) = scope {
        form.push(("scope", s));
    }
    match ureq::post(&url).send_form(&form) {
        Ok(r) => {
            let v: serde_json::Value =
                serde_json::from_reader(r.into_reader()).context("the token answer is not JSON")?;
            v["access_token"]
                .as_str()
                .map(str::to_string)
                .context("the token answer has no access_token")
        }
        Err(ureq::Error::Status(code, r)) => {
            let v: serde_json::Value = serde_json::from_reader(r.into_reader()).unwrap_or_default();
            bail!(
                "{url}: {code} {}: {}",
                v["error"].as_str().unwrap_or("error"),
                v["error_description"].as_str().unwrap_or("")
            )
        }
        Err(e) => Err(Unreachable(format!("{url}: {e}")).into()),
    }
}

fn get(g: TokenGetArgs) -> anyhow::Result<u8> {
    let secret = match (&g.client_secret, &g.client_secret_file) {
        (_, Some(f)) => fs_err::read_to_string(f)?.trim().to_string(),
        (Some(s), None) => s.clone(),
        (None, None) => bail!("give --client-secret-file FILE (or STELLA_CLIENT_SECRET)"),
    };
    match fetch_token(&g.server, &g.client_id, &secret, g.scope.as_deref()) {
        Ok(t) => {
            outln!("{t}");
            Ok(exit::OK)
        }
        Err(e) if e.to_string().contains(": 401 ") || e.to_string().contains(": 400 ") => {
            eprintln!("error: {e:#}");
            Ok(exit::AUTH)
        }
        Err(e) => {
            eprintln!("error: {e:#}");
            Ok(exit::RETRYABLE)
        }
    }
}
