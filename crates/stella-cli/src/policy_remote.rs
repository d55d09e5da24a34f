//! `stella policy push|pull|mute|unmute|mutes`: a tenant's policy and mutes at Core, from
//! the command line (what the UI's policy and mute pages do).

use anyhow::{Context, bail};

use crate::cli::{JobsArgs, PolicyMuteArgs, PolicyPullArgs, PolicyPushArgs, PolicyUnmuteArgs};
use crate::exit;
use crate::jobs_cmd::{Api, Refused};

/// `stella policy push`: one YAML file and any `.rego` files become the active version.
pub(crate) fn push(a: PolicyPushArgs) -> anyhow::Result<u8> {
    let mut yaml = None;
    let mut rego = serde_json::Map::new();
    for p in &a.policy {
        let text = fs_err::read_to_string(p)?;
        if p.extension().is_some_and(|e| e == "rego") {
            let name = p
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            rego.insert(name, text.into());
        } else if yaml.replace(text).is_some() {
            bail!(
                "{}: one YAML policy at a time (the others are .rego files)",
                p.display()
            );
        }
    }
    // checked here first: the same loader Core runs, with the same line and column
    crate::policy_cmd::load_set(&a.policy)?;
    let mut body = serde_json::json!({ "rego": rego });
    if let Some(y) = yaml {
        body["yaml"] = y.into();
    }
    if let Some(c) = &a.comment {
        body["comment"] = c.clone().into();
    }
    let api = Api::new(&a.server)?;
    let v: serde_json::Value = serde_json::from_str(&api.send(
        "PUT",
        "/api/v1/policy",
        Some(("application/json", body.to_string().as_bytes())),
    )?)?;
    eprintln!(
        "policy version {} is active at {}",
        v["version"], a.server.server
    );
    Ok(exit::OK)
}

/// `stella policy pull`: the active version, or the built-in default.
pub(crate) fn pull(a: PolicyPullArgs) -> anyhow::Result<u8> {
    let api = Api::new(&a.server)?;
    let (yaml, rego) = match api.call("GET", "/api/v1/policy") {
        Ok(v) => (
            v["yaml"].as_str().unwrap_or_default().to_string(),
            v["rego"].as_object().cloned().unwrap_or_default(),
        ),
        Err(e) if e.downcast_ref::<Refused>().is_some_and(|r| r.status == 404) => {
            eprintln!("no policy is set at Core: this is the built-in default that decides");
            (
                api.send("GET", "/api/v1/policy/default", None)?,
                serde_json::Map::new(),
            )
        }
        Err(e) => return Err(e),
    };
    match &a.output {
        None => {
            print!("{yaml}");
            for (name, text) in &rego {
                println!("# --- {name}");
                print!("{}", text.as_str().unwrap_or_default());
            }
        }
        Some(dir) => {
            fs_err::create_dir_all(dir)?;
            if !yaml.is_empty() {
                crate::sbom_cmd::write_atomically(&dir.join("policy.yaml"), yaml.as_bytes())?;
            }
            for (name, text) in &rego {
                // a stored name is Core's answer: never a path out of DIR
                let file = std::path::Path::new(name)
                    .file_name()
                    .filter(|f| f.to_string_lossy().ends_with(".rego"))
                    .with_context(|| format!("`{name}` is not a Rego file name"))?;
                crate::sbom_cmd::write_atomically(
                    &dir.join(file),
                    text.as_str().unwrap_or_default().as_bytes(),
                )?;
            }
            eprintln!("written to {}", dir.display());
        }
    }
    Ok(exit::OK)
}

/// `stella policy mute`: stored at Core; says what it mutes now.
pub(crate) fn mute(a: PolicyMuteArgs) -> anyhow::Result<u8> {
    let mut body = serde_json::json!({ "vulnerability": a.vulnerability, "reason": a.reason });
    if let Some(p) = &a.package {
        body["package"] = p.clone().into();
    }
    if let Some(u) = &a.until {
        body["until"] = u.clone().into();
    }
    let api = Api::new(&a.server)?;
    let v: serde_json::Value = serde_json::from_str(&api.send(
        "POST",
        "/api/v1/policy/mute",
        Some(("application/json", body.to_string().as_bytes())),
    )?)?;
    println!("{}", v["id"].as_str().unwrap_or_default());
    let m = &v["matches"];
    match m["warning"].as_str() {
        Some(w) => eprintln!("warning: {w}"),
        None => eprintln!(
            "muted: {} finding(s) in the latest scans of {} image(s)",
            m["findings"],
            m["images"].as_array().map_or(0, Vec::len)
        ),
    }
    Ok(exit::OK)
}

/// `stella policy unmute ID`
pub(crate) fn unmute(a: PolicyUnmuteArgs) -> anyhow::Result<u8> {
    let api = Api::new(&a.server)?;
    match api.send("DELETE", &format!("/api/v1/policy/mute/{}", a.id), None) {
        Ok(_) => {
            eprintln!("unmuted {}", a.id);
            Ok(exit::OK)
        }
        Err(e) if e.downcast_ref::<Refused>().is_some_and(|r| r.status == 404) => {
            eprintln!("error: {e:#}\nhint: `stella policy mutes` lists the mutes and their ids");
            Ok(exit::NOT_FOUND)
        }
        Err(e) => Err(e),
    }
}

/// `stella policy mutes`: one line each, in the order they were made.
pub(crate) fn mutes(a: JobsArgs) -> anyhow::Result<u8> {
    let v = Api::new(&a)?.call("GET", "/api/v1/policy/mutes")?;
    for m in v["mutes"].as_array().into_iter().flatten() {
        let s = |k: &str| m[k].as_str().unwrap_or("").to_string();
        println!(
            "{}  {}{}{}  by {}: {}",
            s("id"),
            s("vulnerability"),
            m["package"]
                .as_str()
                .map(|p| format!(" in {p}"))
                .unwrap_or_default(),
            m["until"]
                .as_str()
                .map(|u| format!(" until {u}"))
                .unwrap_or_default(),
            s("by"),
            s("reason")
        );
    }
    Ok(exit::OK)
}
