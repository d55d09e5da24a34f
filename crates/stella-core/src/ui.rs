//! The web UI's files (`web/`), compiled into the binary and served under `/ui/` (and the
//! translations under `/locales/`): users install nothing besides Core.
//!
//! Traps: no build step — the files are plain ES modules and CSS, served as they are in the
//! repository; a content security policy allows only Core's own scripts and styles, so an
//! injected string in a finding can never run.

use axum::extract::Path;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};

/// (path under `web/`, content type, bytes).
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

/// The languages the UI speaks (complete translations).
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

/// `GET /locales/{lang}.json`
pub(crate) async fn locale(Path(name): Path<String>) -> Response {
    match name.strip_suffix(".json") {
        Some(lang) if LANGUAGES.contains(&lang) => file(&format!("locales/{lang}.json")),
        _ => crate::Problem::not_found(
            "No such language",
            format!("the UI speaks {}: /locales/en.json", LANGUAGES.join(", ")),
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
        let (js, html) = (text("app.js"), text("index.html"));
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
        for prefix in ["sev.", "action.", "dash.fresh.", "state."] {
            assert!(en.iter().any(|k| k.starts_with(prefix)), "{prefix}*");
        }
        for k in ["quota.banner", "quota.warning"] {
            used.push(k.into());
        }
        for k in used {
            assert!(en.contains(&k), "`{k}` is used but not translated");
        }
    }
}
