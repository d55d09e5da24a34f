//! Installed Ruby gems: the `specifications/*.gemspec` files RubyGems writes for every
//! installed gem (`Gem::Specification.new do |s| s.name = "bundler".freeze …`).
//!
//! Traps: installed specs are Ruby source, not data, so only the simple assignments RubyGems
//! itself writes are read (`.name =`, `.version =`, `.licenses = [...]`, `.license =`), with
//! `.freeze` and either quote style; the block variable may be `s` or `spec`; a
//! `Gem::Version.new("1.2")` wrapper holds the version.

use crate::{Cataloger, Kind, Package};

/// The gemspec cataloger.
pub struct Gemspec;

fn quoted(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut it = s.char_indices();
    while let Some((i, c)) = it.next() {
        if (c == '"' || c == '\'')
            && let Some(end) = s[i + 1..].find(c)
        {
            out.push(s[i + 1..i + 1 + end].to_string());
            // skip past the closing quote
            for _ in 0..=end {
                it.next();
            }
        }
    }
    out
}

impl Cataloger for Gemspec {
    fn name(&self) -> &'static str {
        "gemspec"
    }

    fn wants(&self, path: &str) -> bool {
        path.ends_with(".gemspec")
            && path
                .rsplit_once('/')
                .is_some_and(|(dir, _)| dir.ends_with("/specifications") || dir == "specifications")
    }

    fn parse(&self, path: &str, content: &[u8]) -> Result<Vec<Package>, String> {
        let text = String::from_utf8_lossy(content);
        let (mut name, mut version, mut licenses) = (None, None, Vec::new());
        for line in text.lines() {
            let l = line.trim();
            let Some((lhs, rhs)) = l.split_once(" = ") else {
                continue;
            };
            let field = lhs.rsplit('.').next().unwrap_or("");
            match field {
                "name" if name.is_none() => name = quoted(rhs).into_iter().next(),
                "version" if version.is_none() => version = quoted(rhs).into_iter().next(),
                "licenses" => licenses = quoted(rhs),
                "license" if licenses.is_empty() => licenses = quoted(rhs),
                _ => {}
            }
        }
        let (Some(name), Some(version)) = (name, version) else {
            return Ok(Vec::new());
        };
        Ok(vec![Package {
            kind: Kind::Gem,
            name,
            version,
            arch: None,
            source_name: None,
            source_version: None,
            module: None,
            licenses,
            location: path.to_string(),
            layer: None,
            repository: None,
        }])
    }
}
