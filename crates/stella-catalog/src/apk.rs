//! Alpine's installed-package database, `lib/apk/db/installed`: one paragraph per package of
//! `X:value` lines (`P` name, `V` version, `A` arch, `o` origin, `L` license).
//!
//! Traps: paragraphs end at a blank line, but the last may not; `o:` (origin) is the source
//! package the vulnerability DB is keyed by; the file may carry CRLF line ends when written on
//! odd systems; a paragraph without `P` or `V` is no package.

use crate::{Cataloger, Kind, Package};

/// The apk cataloger.
pub struct Apk;

impl Cataloger for Apk {
    fn name(&self) -> &'static str {
        "apk"
    }

    fn wants(&self, path: &str) -> bool {
        path == "lib/apk/db/installed"
    }

    fn parse(&self, path: &str, content: &[u8]) -> Result<Vec<Package>, String> {
        let text = std::str::from_utf8(content).map_err(|e| format!("not UTF-8 text: {e}"))?;
        let mut out = Vec::new();
        let mut cur: Vec<(char, &str)> = Vec::new();
        let flush = |cur: &mut Vec<(char, &str)>, out: &mut Vec<Package>| {
            let get = |k: char| cur.iter().find(|(c, _)| *c == k).map(|(_, v)| v.trim());
            if let (Some(name), Some(version)) = (get('P'), get('V'))
                && !name.is_empty()
                && !version.is_empty()
            {
                let origin = get('o').filter(|o| !o.is_empty());
                out.push(Package {
                    kind: Kind::Apk,
                    name: name.to_string(),
                    version: version.to_string(),
                    arch: get('A').filter(|a| !a.is_empty()).map(str::to_string),
                    source_name: origin.map(str::to_string),
                    source_version: None,
                    module: None,
                    licenses: get('L')
                        .filter(|l| !l.is_empty())
                        .map(|l| vec![l.to_string()])
                        .unwrap_or_default(),
                    location: path.to_string(),
                    layer: None,
                    repository: None,
                });
            }
            cur.clear();
        };
        for line in text.lines() {
            let line = line.trim_end_matches('\r');
            if line.is_empty() {
                flush(&mut cur, &mut out);
                continue;
            }
            let mut chars = line.chars();
            if let (Some(k), Some(':')) = (chars.next(), chars.next()) {
                // the rest after `X:`, wherever the key's bytes end (it may not be ASCII)
                cur.push((k, chars.as_str()));
            }
        }
        flush(&mut cur, &mut out);
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paragraphs() {
        let db = "C:Q1abc=\nP:musl\nV:1.1.22-r3\nA:x86_64\nL:MIT\no:musl\n\nP:libcrypto1.1\nV:1.1.1d-r2\nA:x86_64\no:openssl\nL:OpenSSL";
        let p = Apk.parse("lib/apk/db/installed", db.as_bytes()).unwrap();
        assert_eq!(p.len(), 2);
        assert_eq!(p[1].name, "libcrypto1.1");
        assert_eq!(p[1].source_name.as_deref(), Some("openssl"));
        assert_eq!(p[1].licenses, ["OpenSSL"]);
        // a key that is not ASCII (found by fuzzing: it used to slice inside a character)
        assert!(
            Apk.parse("lib/apk/db/installed", "€:x\nP:a\nV:1".as_bytes())
                .is_ok()
        );
    }
}
