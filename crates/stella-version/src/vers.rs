//! purl `vers:` version range specifiers (`vers:npm/>=1.0.0|<2.0.0`).
//!
//! Traps:
//! - Constraints are `|`-separated and evaluated by the spec's pairwise algorithm after
//!   sorting by version, not left to right.
//! - `*` alone means every version; `=`, `<=`, `>=` on the tested version are in, `!=` out.
//! - Versions are percent-encoded where they contain `|`, `%` or spaces.

use std::cmp::Ordering;

use crate::constraint::{Cmp, Op};
use crate::{Error, Scheme};

/// A parsed `vers` specifier.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Vers {
    /// The `vers` versioning scheme name as written.
    pub scheme_name: String,
    /// The scheme used to order versions.
    pub scheme: Scheme,
    /// Constraints sorted by version; empty means `*`.
    pub constraints: Vec<Cmp>,
}

fn scheme_of(name: &str) -> Option<Scheme> {
    Some(match name {
        "npm" => Scheme::Npm,
        "pypi" => Scheme::Pep440,
        "maven" => Scheme::Maven,
        "deb" | "debian" | "ubuntu" => Scheme::Dpkg,
        "rpm" => Scheme::Rpm,
        "apk" | "alpine" => Scheme::Apk,
        "gem" | "rubygems" => Scheme::RubyGems,
        "nuget" => Scheme::NuGet,
        "composer" => Scheme::Packagist,
        "golang" | "go" => Scheme::Go,
        "cargo" | "semver" | "github" | "hex" => Scheme::SemVer,
        "pub" => Scheme::Pub,
        "hackage" => Scheme::Hackage,
        "cran" => Scheme::Cran,
        "alpm" => Scheme::Pacman,
        "generic" | "conan" | "cpan" => Scheme::Generic,
        _ => return None,
    })
}

fn percent_decode(range: &str, s: &str) -> Result<String, Error> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = s
                .get(i + 1..i + 3)
                .ok_or_else(|| Error::range(range, "truncated %-escape"))?;
            let v = u8::from_str_radix(hex, 16)
                .map_err(|_| Error::range(range, format!("bad %-escape `%{hex}`")))?;
            out.push(v);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| Error::range(range, "escape decodes to invalid UTF-8"))
}

impl Vers {
    /// Parses a `vers:` URI.
    pub fn parse(s: &str) -> Result<Self, Error> {
        let t = s.trim();
        let rest = t
            .strip_prefix("vers:")
            .ok_or_else(|| Error::range(s, "it must start with `vers:`"))?;
        let (name, cons) = rest
            .split_once('/')
            .ok_or_else(|| Error::range(s, "missing `/` after the scheme"))?;
        let name = name.to_ascii_lowercase();
        let scheme = scheme_of(&name)
            .ok_or_else(|| Error::range(s, format!("unknown versioning scheme `{name}`")))?;
        let cons = cons.trim();
        if cons.is_empty() {
            return Err(Error::range(s, "no constraints"));
        }
        let mut constraints = Vec::new();
        if cons == "*" {
            return Ok(Vers {
                scheme_name: name,
                scheme,
                constraints,
            });
        }
        for part in cons.split('|') {
            let part = part.trim();
            if part == "*" {
                return Err(Error::range(s, "`*` must be the only constraint"));
            }
            let (op, v) = [
                (">=", Op::Ge),
                ("<=", Op::Le),
                ("!=", Op::Ne),
                ("<", Op::Lt),
                (">", Op::Gt),
                ("=", Op::Eq),
            ]
            .iter()
            .find_map(|(sym, op)| part.strip_prefix(sym).map(|v| (*op, v)))
            .unwrap_or((Op::Eq, part));
            let v = percent_decode(s, v.trim())?;
            if v.is_empty() {
                return Err(Error::range(s, format!("`{part}` has no version")));
            }
            scheme.validate(&v)?;
            constraints.push(Cmp { op, version: v });
        }
        constraints.sort_by(|a, b| {
            scheme
                .compare(&a.version, &b.version)
                .unwrap_or(Ordering::Equal)
        });
        for w in constraints.windows(2) {
            if scheme.compare(&w[0].version, &w[1].version)? == Ordering::Equal {
                return Err(Error::range(
                    s,
                    format!("version `{}` appears twice", w[1].version),
                ));
            }
        }
        Ok(Vers {
            scheme_name: name,
            scheme,
            constraints,
        })
    }

    /// Whether `version` is in the range (the spec's algorithm).
    pub fn contains(&self, version: &str) -> Result<bool, Error> {
        let sch = self.scheme;
        sch.validate(version)?;
        if self.constraints.is_empty() {
            return Ok(true);
        }
        for cst in &self.constraints {
            if sch.compare(version, &cst.version)? == Ordering::Equal {
                match cst.op {
                    Op::Eq | Op::Le | Op::Ge => return Ok(true),
                    Op::Ne => return Ok(false),
                    _ => {}
                }
            }
        }
        let rest: Vec<&Cmp> = self
            .constraints
            .iter()
            .filter(|c| !matches!(c.op, Op::Eq | Op::Ne))
            .collect();
        if rest.is_empty() {
            // Only `=`/`!=` constraints: in the range iff some `!=` exists and none matched.
            return Ok(self.constraints.iter().any(|c| c.op == Op::Ne));
        }
        let lt = |c: &Cmp| -> Result<bool, Error> {
            Ok(sch.compare(version, &c.version)? == Ordering::Less)
        };
        let gt = |c: &Cmp| -> Result<bool, Error> {
            Ok(sch.compare(version, &c.version)? == Ordering::Greater)
        };
        let upper = |c: &Cmp| matches!(c.op, Op::Lt | Op::Le);
        let lower = |c: &Cmp| matches!(c.op, Op::Gt | Op::Ge);
        if rest.len() == 1 {
            let c0 = rest[0];
            return Ok((upper(c0) && lt(c0)?) || (lower(c0) && gt(c0)?));
        }
        for (i, w) in rest.windows(2).enumerate() {
            let (cur, next) = (w[0], w[1]);
            if i == 0 && upper(cur) && lt(cur)? {
                return Ok(true);
            }
            if i == rest.len() - 2 && lower(next) && gt(next)? {
                return Ok(true);
            }
            if lower(cur) && upper(next) && gt(cur)? && lt(next)? {
                return Ok(true);
            }
        }
        Ok(false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spec_examples() {
        let v = Vers::parse("vers:npm/1.2.3|>=2.0.0|<5.0.0").unwrap();
        assert!(v.contains("1.2.3").unwrap());
        assert!(v.contains("3.0.0").unwrap());
        assert!(!v.contains("1.5.0").unwrap());
        assert!(!v.contains("5.0.0").unwrap());
        let v = Vers::parse("vers:pypi/>=1.0|<1.5|>=2.0|!=2.1|<3.0").unwrap();
        assert!(v.contains("1.2").unwrap() && !v.contains("1.7").unwrap());
        assert!(v.contains("2.5").unwrap() && !v.contains("2.1").unwrap());
        assert!(
            Vers::parse("vers:deb/*")
                .unwrap()
                .contains("1.0-1")
                .unwrap()
        );
        assert!(Vers::parse("vers:npm/>=1.0.0|>=1.0.0").is_err());
        assert!(Vers::parse("npm/>=1").is_err());
    }
}
