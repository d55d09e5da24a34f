//! in-toto Statement v1 (and v0.1, which cosign 1.x/2.x still writes): subjects, predicate
//! type, predicate.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::Error;

/// `_type` of an in-toto Statement v1.
pub const STATEMENT_V1: &str = "https://in-toto.io/Statement/v1";
/// `_type` of an in-toto Statement v0.1 (read, never written).
pub const STATEMENT_V01: &str = "https://in-toto.io/Statement/v0.1";
/// The DSSE payload type of in-toto statements.
pub const IN_TOTO_PAYLOAD_TYPE: &str = "application/vnd.in-toto+json";

/// What a statement is about: a name and its digests (`sha256` → hex).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, PartialOrd, Ord)]
pub struct Subject {
    /// The artifact's name (an image reference without tag, a file name).
    #[serde(default)]
    pub name: String,
    /// Algorithm → lowercase hex.
    pub digest: BTreeMap<String, String>,
}

impl Subject {
    /// A subject with one `sha256` digest (a `sha256:` prefix is taken off).
    pub fn sha256(name: &str, hex: &str) -> Subject {
        let hex = hex.strip_prefix("sha256:").unwrap_or(hex);
        Subject {
            name: name.to_string(),
            digest: BTreeMap::from([("sha256".to_string(), hex.to_ascii_lowercase())]),
        }
    }
}

/// A statement's header (everything but its predicate), as read from a verified payload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Statement {
    /// [`STATEMENT_V1`] or [`STATEMENT_V01`].
    #[serde(rename = "_type")]
    pub type_: String,
    /// What it is about.
    pub subject: Vec<Subject>,
    /// What its predicate says.
    #[serde(rename = "predicateType")]
    pub predicate_type: String,
}

#[derive(Deserialize)]
struct Header {
    #[serde(rename = "_type")]
    type_: String,
    subject: Vec<Subject>,
    #[serde(rename = "predicateType")]
    predicate_type: String,
    #[serde(default)]
    predicate: Option<serde::de::IgnoredAny>,
}

#[derive(Deserialize)]
struct PredicateOnly {
    #[serde(default)]
    predicate: serde_json::Value,
}

impl Statement {
    /// The statement's JSON with `predicate` (JSON bytes, checked to be one JSON value)
    /// embedded as it is: the signed bytes carry the predicate exactly as its producer wrote
    /// it, and no large document is parsed into a tree only to be printed again.
    pub fn encode(
        subject: &[Subject],
        predicate_type: &str,
        predicate: &[u8],
    ) -> Result<Vec<u8>, Error> {
        if subject.is_empty() {
            return Err(Error::Statement(
                "a statement needs at least one subject".into(),
            ));
        }
        if let Some(s) = subject.iter().find(|s| s.digest.is_empty()) {
            return Err(Error::Statement(format!(
                "the subject `{}` has no digest",
                s.name
            )));
        }
        let mut de = serde_json::Deserializer::from_slice(predicate);
        serde::de::IgnoredAny::deserialize(&mut de)
            .and_then(|_| de.end())
            .map_err(|e| Error::Statement(format!("the predicate is not JSON ({e})")))?;
        let head = serde_json::json!({
            "_type": STATEMENT_V1,
            "subject": subject,
            "predicateType": predicate_type,
        });
        let mut out = serde_json::to_vec(&head).unwrap_or_default();
        out.pop(); // the closing brace: the predicate goes last
        out.extend_from_slice(b",\"predicate\":");
        out.extend_from_slice(trim(predicate));
        out.push(b'}');
        Ok(out)
    }

    /// A statement's header from its JSON (the predicate is skipped, not built).
    pub fn parse(payload: &[u8]) -> Result<Statement, Error> {
        let h: Header = serde_json::from_slice(payload)
            .map_err(|e| Error::Statement(format!("not an in-toto statement ({e})")))?;
        if h.type_ != STATEMENT_V1 && h.type_ != STATEMENT_V01 {
            return Err(Error::Statement(format!(
                "`_type` is `{}`, not an in-toto Statement ({STATEMENT_V1})",
                h.type_
            )));
        }
        if h.subject.is_empty() || h.subject.iter().any(|s| s.digest.is_empty()) {
            return Err(Error::Statement(
                "the statement has no subject, or a subject without a digest".into(),
            ));
        }
        if h.predicate_type.is_empty() {
            return Err(Error::Statement(
                "the statement has no predicateType".into(),
            ));
        }
        let _ = h.predicate;
        Ok(Statement {
            type_: h.type_,
            subject: h.subject,
            predicate_type: h.predicate_type,
        })
    }

    /// The predicate of a statement's JSON, as a tree.
    pub fn predicate(payload: &[u8]) -> Result<serde_json::Value, Error> {
        serde_json::from_slice::<PredicateOnly>(payload)
            .map(|p| p.predicate)
            .map_err(|e| Error::Statement(format!("not an in-toto statement ({e})")))
    }

    /// Whether one of its subjects has `sha256` (hex, `sha256:` prefix allowed) and, when
    /// given, `name`.
    pub fn covers(&self, name: Option<&str>, sha256: &str) -> bool {
        let hex = sha256.strip_prefix("sha256:").unwrap_or(sha256);
        self.subject.iter().any(|s| {
            s.digest
                .get("sha256")
                .is_some_and(|d| d.eq_ignore_ascii_case(hex))
                && name.is_none_or(|n| s.name == n)
        })
    }
}

fn trim(b: &[u8]) -> &[u8] {
    let start = b
        .iter()
        .position(|c| !c.is_ascii_whitespace())
        .unwrap_or(b.len());
    let end = b
        .iter()
        .rposition(|c| !c.is_ascii_whitespace())
        .map_or(start, |e| e + 1);
    &b[start..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoded_statements_parse_back() {
        let s = [Subject::sha256("registry.example/app", "sha256:ABCDEF")];
        let bytes = Statement::encode(&s, "https://example/p", b"\n {\"a\": [1, 2]}\n").unwrap();
        let st = Statement::parse(&bytes).unwrap();
        assert_eq!(st.type_, STATEMENT_V1);
        assert_eq!(st.subject[0].digest["sha256"], "abcdef");
        assert!(st.covers(Some("registry.example/app"), "sha256:abcdef"));
        assert!(!st.covers(Some("other"), "abcdef"));
        assert_eq!(
            Statement::predicate(&bytes).unwrap(),
            serde_json::json!({"a": [1, 2]})
        );
        assert!(Statement::encode(&s, "t", b"{\"a\":").is_err());
        assert!(Statement::encode(&s, "t", b"{} {}").is_err());
        assert!(Statement::encode(&[], "t", b"{}").is_err());
    }

    #[test]
    fn other_documents_are_not_statements() {
        for bad in [
            r#"{"_type":"x","subject":[{"digest":{"sha256":"a"}}],"predicateType":"p"}"#,
            r#"{"_type":"https://in-toto.io/Statement/v1","subject":[],"predicateType":"p"}"#,
            r#"{"_type":"https://in-toto.io/Statement/v1","subject":[{"digest":{}}],"predicateType":"p"}"#,
            r#"[1]"#,
        ] {
            assert!(Statement::parse(bad.as_bytes()).is_err(), "{bad}");
        }
    }
}
