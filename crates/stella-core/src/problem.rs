//! RFC 9457 problem documents: every error Core answers with.

use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// An error answer: status, a short title, a `detail` that says what to do, extra headers.
#[derive(Debug)]
pub struct Problem {
    pub(crate) status: StatusCode,
    title: &'static str,
    detail: String,
    headers: Vec<(HeaderName, HeaderValue)>,
    /// Extension members (RFC 9457 §3.2), e.g. where in a policy the error is.
    /// (Boxed: a `Result<_, Problem>` stays small on the happy path.)
    extensions: Option<Box<serde_json::Map<String, serde_json::Value>>>,
}

impl Problem {
    pub(crate) fn new(
        status: StatusCode,
        title: &'static str,
        detail: impl Into<String>,
    ) -> Problem {
        Problem {
            status,
            title,
            detail: detail.into(),
            headers: Vec::new(),
            extensions: None,
        }
    }

    /// Adds an extension member.
    pub(crate) fn extend(mut self, name: &str, value: serde_json::Value) -> Problem {
        self.extensions
            .get_or_insert_with(Box::default)
            .insert(name.to_string(), value);
        self
    }

    pub(crate) fn bad_request(title: &'static str, detail: impl Into<String>) -> Problem {
        Problem::new(StatusCode::BAD_REQUEST, title, detail)
    }

    pub(crate) fn not_found(title: &'static str, detail: impl Into<String>) -> Problem {
        Problem::new(StatusCode::NOT_FOUND, title, detail)
    }

    /// Adds a header (a value that is not a valid header is dropped).
    pub(crate) fn with(mut self, name: HeaderName, value: impl AsRef<str>) -> Problem {
        if let Ok(v) = HeaderValue::from_str(value.as_ref()) {
            self.headers.push((name, v));
        }
        self
    }
}

impl Problem {
    /// The document, as stored for a failed job.
    pub(crate) fn to_json(&self) -> Vec<u8> {
        serde_json::to_vec(&self.body()).unwrap_or_default()
    }

    fn body(&self) -> serde_json::Value {
        let mut v = serde_json::json!({
            "type": "about:blank",
            "title": self.title,
            "status": self.status.as_u16(),
            "detail": self.detail,
        });
        if let (Some(o), Some(ext)) = (v.as_object_mut(), &self.extensions) {
            for (k, x) in ext.iter() {
                o.entry(k.clone()).or_insert_with(|| x.clone());
            }
        }
        v
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let body = self.body();
        let mut r = (
            self.status,
            [(header::CONTENT_TYPE, "application/problem+json")],
            body.to_string(),
        )
            .into_response();
        for (k, v) in self.headers {
            r.headers_mut().append(k, v);
        }
        r
    }
}

/// A server-side failure; the detail says nothing stored was lost (every write is one
/// transaction).
pub(crate) fn internal(e: impl std::fmt::Display) -> Problem {
    Problem::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        "Internal error",
        format!("{e}; nothing stored was lost, try again"),
    )
}

/// A store failure: `503` with `Retry-After` while Redis or PostgreSQL is unreachable (the
/// request can be sent again once it is back), otherwise [`internal`].
pub(crate) fn store(e: stella_store::Error) -> Problem {
    if e.is_unavailable() {
        Problem::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "Store unavailable",
            format!("{e}; nothing was stored, try again shortly"),
        )
        .with(axum::http::header::RETRY_AFTER, "5")
    } else {
        internal(e)
    }
}
