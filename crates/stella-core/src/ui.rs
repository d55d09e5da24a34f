//! The web UI's files (`web/`), compiled into the binary and served under `/ui/` (and the
//! translations under `/locales/`): users install nothing besides Core.
//!
//! Traps: no build step — the files are plain ES modules and CSS, served as they are in the
//! repository; a content security policy allows only Core's own scripts and styles, so an
//! injected string in a finding can never run.

use axum::extract::Path;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};

/// (path under `web/`, content type, bytes): every file of `web/` but its tests (a test
/// checks none is missing).
const FILES: &[(&str, &str, &[u8])] = &[
    (
        "index.html",
        "text/html; charset=utf-8",
        include_bytes!("../../../web/index.html"),
    ),
    (
        "app.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../../web/app.js"),
    ),
    (
        "js/lib.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../../web/js/lib.js"),
    ),
    (
        "js/charts.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../../web/js/charts.js"),
    ),
    (
        "js/dashboard.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../../web/js/dashboard.js"),
    ),
    (
        "js/scans.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../../web/js/scans.js"),
    ),
    (
        "js/scan.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../../web/js/scan.js"),
    ),
    (
        "js/findings.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../../web/js/findings.js"),
    ),
    (
        "js/finding.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../../web/js/finding.js"),
    ),
    (
        "js/policy.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../../web/js/policy.js"),
    ),
    (
        "js/mutes.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../../web/js/mutes.js"),
    ),
    (
        "js/access.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../../web/js/access.js"),
    ),
    (
        "js/settings.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../../web/js/settings.js"),
    ),
    (
        "style.css",
        "text/css; charset=utf-8",
        include_bytes!("../../../web/style.css"),
    ),
    (
        "icon.svg",
        "image/svg+xml",
        include_bytes!("../../../web/icon.svg"),
    ),
    (
        "locales/en.json",
        "application/json",
        include_bytes!("../../../web/locales/en.json"),
    ),
    (
        "locales/de.json",
        "application/json",
        include_bytes!("../../../web/locales/de.json"),
    ),
];

/// The languages the UI speaks (complete translations); operators add more as
/// `DATA/locales/LANG.json` without a rebuild.
pub(crate) const LANGUAGES: &[&str] = &["en", "de"];

fn file(path: &str) -> Response {
    let Some((_, ct, bytes)) = FILES.iter().find(|(p, _, _)| *p == path) else {
        return crate::Problem::not_found("Not found", format!("the UI has no file `{path}`"))
            .into_response();
    };
    // the binary's files never change while it runs: the ETag is their hash
    let etag = format!("\"{:016x}\"", stella_sbom::hash::Fnv64::of(bytes));
    let mut r = (StatusCode::OK, *bytes).into_response();
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(ct));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    if let Ok(v) = HeaderValue::from_str(&etag) {
        h.insert(header::ETAG, v);
    }
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
        ),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    r
}

/// `GET /` → the UI.
pub(crate) async fn root() -> Redirect {
    Redirect::to("/ui/")
}

/// `GET /ui/`
pub(crate) async fn index() -> Response {
    file("index.html")
}

/// `GET /ui/{file}`
pub(crate) async fn asset(Path(path): Path<String>) -> Response {
    file(&path)
}

/// A language name an operator may use for a file: `de`, `pt-BR`, `ar` (no paths).
fn language_tag(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 16
        && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        && s.as_bytes()[0].is_ascii_alphabetic()
}

/// The operator's translations: `DATA/locales/*.json`, each a JSON object of strings.
fn added_languages(data: &std::path::Path) -> Vec<(String, std::path::PathBuf)> {
    let mut out = Vec::new();
    if let Ok(dir) = std::fs::read_dir(data.join("locales")) {
        for e in dir.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if let Some(lang) = name.strip_suffix(".json")
                && language_tag(lang)
                && !LANGUAGES.contains(&lang)
            {
                out.push((lang.to_string(), e.path()));
            }
        }
    }
    out.sort();
    out
}

/// `GET /locales/{lang}.json` (and `index.json`: every language with its own name)
pub(crate) async fn locale(
    axum::extract::State(core): axum::extract::State<std::sync::Arc<crate::Core>>,
    Path(name): Path<String>,
) -> Response {
    // the built-in languages need no look at the data directory
    if let Some(lang) = name.strip_suffix(".json")
        && LANGUAGES.contains(&lang)
    {
        return file(&format!("locales/{lang}.json"));
    }
    let data = core.config.data.clone();
    let added = tokio::task::spawn_blocking(move || added_languages(&data))
        .await
        .unwrap_or_default();
    if name == "index.json" {
        let mut list = Vec::new();
        for lang in LANGUAGES {
            let (_, _, bytes) = FILES
                .iter()
                .find(|(p, _, _)| *p == format!("locales/{lang}.json"))
                .copied()
                .unwrap_or(("", "", b"{}"));
            list.push((lang.to_string(), bytes.to_vec()));
        }
        for (lang, path) in &added {
            if let Ok(b) = std::fs::read(path) {
                list.push((lang.clone(), b));
            }
        }
        let langs: Vec<serde_json::Value> = list
            .into_iter()
            .filter_map(|(lang, bytes)| {
                let v: serde_json::Map<String, serde_json::Value> =
                    serde_json::from_slice(&bytes).ok()?;
                let own = v
                    .get("lang.name")
                    .and_then(|x| x.as_str())
                    .unwrap_or(&lang)
                    .to_string();
                let dir = v
                    .get("lang.dir")
                    .and_then(|x| x.as_str())
                    .unwrap_or("ltr")
                    .to_string();
                Some(serde_json::json!({ "lang": lang, "name": own, "dir": dir }))
            })
            .collect();
        let mut r = axum::Json(serde_json::json!({ "languages": langs })).into_response();
        r.headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
        return r;
    }
    match name.strip_suffix(".json") {
        Some(lang) if added.iter().any(|(l, _)| l == lang) => {
            let path = &added.iter().find(|(l, _)| l == lang).map(|(_, p)| p.clone());
            let bytes = path.as_ref().and_then(|p| std::fs::read(p).ok());
            // a file that is not an object of strings is refused, never half-served
            match bytes.filter(|b| {
                serde_json::from_slice::<serde_json::Map<String, serde_json::Value>>(b)
                    .is_ok_and(|m| m.values().all(serde_json::Value::is_string))
            }) {
                Some(b) => {
                    let mut r = (StatusCode::OK, b).into_response();
                    r.headers_mut().insert(
                        header::CONTENT_TYPE,
                        HeaderValue::from_static("application/json"),
                    );
                    r.headers_mut()
                        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
                    r
                }
                None => crate::Problem::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Bad translation",
                    format!("locales/{lang}.json in Core's data directory is not a JSON object of strings; fix or remove it"),
                )
                .into_response(),
            }
        }
        _ => crate::Problem::not_found(
            "No such language",
            format!(
                "the UI speaks {}: /locales/en.json (add one as locales/LANG.json in Core's data directory)",
                LANGUAGES
                    .iter()
                    .map(|l| l.to_string())
                    .chain(added.iter().map(|(l, _)| l.clone()))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        )
        .into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(lang: &str) -> std::collections::BTreeSet<String> {
        let (_, _, bytes) = FILES
            .iter()
            .find(|(p, _, _)| *p == format!("locales/{lang}.json"))
            .unwrap();
        let v: serde_json::Map<String, serde_json::Value> = serde_json::from_slice(bytes).unwrap();
        assert!(
            v.values()
                .all(|s| s.as_str().is_some_and(|s| !s.is_empty()))
        );
        v.keys().cloned().collect()
    }

    #[test]
    fn every_language_translates_every_string_the_ui_uses() {
        let en = keys("en");
        for lang in LANGUAGES {
            assert_eq!(keys(lang), en, "{lang} has exactly the English keys");
        }
        // every key the code and the page ask for, literal or built from a known list
        let text = |p: &str| {
            String::from_utf8_lossy(FILES.iter().find(|(f, _, _)| *f == p).unwrap().2).into_owned()
        };
        let js: String = FILES
            .iter()
            .filter(|(p, _, _)| p.ends_with(".js"))
            .map(|(p, _, _)| text(p))
            .collect();
        let html = text("index.html");
        let mut used = Vec::new();
        for (src, open) in [(&js, "t(\""), (&html, "data-i18n=\"")] {
            for (at, _) in src.match_indices(open) {
                // `t("…")` itself, not `get("…")`
                let before = src[..at].chars().next_back().unwrap_or(' ');
                if before.is_alphanumeric() || before == '_' || before == '.' {
                    continue;
                }
                let rest = &src[at + open.len()..];
                used.push(rest.split('"').next().unwrap().to_string());
            }
        }
        for prefix in ["sev.", "action.", "dash.fresh.", "state.", "lang."] {
            assert!(en.iter().any(|k| k.starts_with(prefix)), "{prefix}*");
        }
        for k in ["quota.banner", "quota.warning"] {
            used.push(k.into());
        }
        for k in used {
            assert!(en.contains(&k), "`{k}` is used but not translated");
        }
    }

    #[test]
    fn every_file_of_the_ui_is_served() {
        // a module added to web/ but not to FILES would load in development and 404 in use
        let web = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../web");
        let mut missing = Vec::new();
        let mut stack = vec![web.clone()];
        while let Some(dir) = stack.pop() {
            for e in std::fs::read_dir(&dir).unwrap().flatten() {
                let p = e.path();
                let rel = p
                    .strip_prefix(&web)
                    .unwrap()
                    .to_string_lossy()
                    .replace('\\', "/");
                if rel.starts_with("tests") {
                    continue;
                }
                if p.is_dir() {
                    stack.push(p);
                } else if !FILES.iter().any(|(f, _, _)| *f == rel) {
                    missing.push(rel);
                }
            }
        }
        assert!(
            missing.is_empty(),
            "web/ files not in ui.rs FILES: {missing:?}"
        );
    }

    #[test]
    fn language_tags_are_names_not_paths() {
        assert!(language_tag("de") && language_tag("pt-BR") && language_tag("ar"));
        assert!(
            !language_tag("../x")
                && !language_tag("")
                && !language_tag("a/b")
                && !language_tag("1x")
        );
    }
}
