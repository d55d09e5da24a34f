//! CPE 2.3 names: the formatted-string binding (`cpe:2.3:a:vendor:product:...`) and the legacy
//! URI binding (`cpe:/a:vendor:product:version`), per NISTIR 7695.
//!
//! Traps:
//! - Components are split on *unescaped* `:`; `\:` is part of a value (`cpe:2.3:a:x:y\:z:...`).
//! - `*` is ANY and `-` is NA, but only when they are the whole, unescaped value; `\*` is a
//!   literal asterisk. Values are compared case-insensitively (stored lower-case).
//! - A formatted string has exactly 13 colon-separated fields; a URI may omit trailing ones
//!   (they are ANY) and percent-encodes special characters, with `~` packing the 2.3
//!   extended attributes into `edition`.

use std::fmt;
use std::str::FromStr;

/// Why a CPE name was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid CPE `{cpe}`: {why}")]
pub struct CpeError {
    /// The rejected text.
    pub cpe: String,
    /// What is wrong.
    pub why: String,
}

/// One attribute value.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Value {
    /// `*`: any value.
    #[default]
    Any,
    /// `-`: not applicable.
    Na,
    /// A literal value (unescaped, lower-case); `*`/`?` wildcards stay escaped as written.
    Text(String),
}

/// A CPE 2.3 name, stored as its canonical formatted-string binding (lower-case, escaped),
/// which is compact and orders and compares like the name itself. Attributes are read back
/// with [`Cpe::attributes`] and the named accessors.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Cpe {
    fs: Box<str>,
}

/// Attribute positions in WFN order.
const NAMES: [&str; 11] = [
    "part",
    "vendor",
    "product",
    "version",
    "update",
    "edition",
    "language",
    "sw_edition",
    "target_sw",
    "target_hw",
    "other",
];

fn fs_value(cpe: &str, raw: &str) -> Result<Value, CpeError> {
    match raw {
        "*" => return Ok(Value::Any),
        "-" => return Ok(Value::Na),
        "" => {
            return Err(CpeError {
                cpe: cpe.into(),
                why: "an empty attribute (use `*` or `-`)".into(),
            });
        }
        _ => {}
    }
    let mut out = String::new();
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next() {
                Some(n) if n.is_ascii_graphic() => out.push(n),
                Some(_) => {
                    return Err(CpeError {
                        cpe: cpe.into(),
                        why: "an attribute may only hold printable ASCII (no spaces or control characters)".into(),
                    });
                }
                None => {
                    return Err(CpeError {
                        cpe: cpe.into(),
                        why: "a trailing `\\`".into(),
                    });
                }
            }
        } else if !c.is_ascii_graphic() {
            return Err(CpeError {
                cpe: cpe.into(),
                why: "an attribute may only hold printable ASCII (no spaces or control characters)"
                    .into(),
            });
        } else {
            out.push(c);
        }
    }
    Ok(Value::Text(out.to_lowercase()))
}

/// One pass from a formatted string to its canonical form (lower-case, our escaping), for
/// the common well-formed case; `None` sends the input to the full parser for an error.
fn canonical_fs(rest: &str) -> Option<String> {
    let mut out = String::with_capacity(rest.len() + 8);
    out.push_str("cpe:2.3:");
    let mut fields = 0;
    for raw in split_unescaped(rest) {
        fields += 1;
        if fields > 1 {
            out.push(':');
        }
        match raw {
            "" => return None,
            "*" | "-" => {
                out.push_str(raw);
                continue;
            }
            _ => {}
        }
        if fields == 1 && !matches!(raw, "a" | "o" | "h") {
            return None;
        }
        let mut chars = raw.chars();
        let mut literal = String::new();
        while let Some(c) = chars.next() {
            let c = if c == '\\' { chars.next()? } else { c };
            if !c.is_ascii_graphic() {
                return None;
            }
            literal.extend(c.to_lowercase());
        }
        if literal == "-" {
            out.push_str("\\-");
            continue;
        }
        for c in literal.chars() {
            if !(c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-')) {
                out.push('\\');
            }
            out.push(c);
        }
    }
    (fields == 11).then_some(out)
}

fn split_unescaped(s: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let b = s.as_bytes();
    let (mut start, mut i) = (0, 0);
    while i < b.len() {
        if b[i] == b'\\' {
            i += 2;
            continue;
        }
        if b[i] == b':' {
            parts.push(&s[start..i]);
            start = i + 1;
        }
        i += 1;
    }
    parts.push(&s[start.min(s.len())..]);
    parts
}

fn uri_value(cpe: &str, raw: &str) -> Result<Value, CpeError> {
    match raw {
        "" | "*" => return Ok(Value::Any),
        "-" => return Ok(Value::Na),
        _ => {}
    }
    let s = crate::purl::percent_decode(raw).map_err(|why| CpeError {
        cpe: cpe.into(),
        why,
    })?;
    if !s.chars().all(|c| c.is_ascii_graphic()) {
        return Err(CpeError {
            cpe: cpe.into(),
            why: "an attribute may only hold printable ASCII (no spaces or control characters)"
                .into(),
        });
    }
    Ok(Value::Text(s.to_lowercase()))
}

impl Cpe {
    /// Parses a CPE 2.3 formatted string or a CPE 2.2 URI.
    pub fn parse(s: &str) -> Result<Self, CpeError> {
        let t = s.trim();
        let err = |why: &str| CpeError {
            cpe: s.into(),
            why: why.into(),
        };
        if let Some(rest) = t.strip_prefix("cpe:2.3:") {
            if let Some(fast) = canonical_fs(rest) {
                return Ok(Cpe { fs: fast.into() });
            }
            let f = split_unescaped(rest);
            if f.len() != 11 {
                return Err(err(&format!(
                    "a CPE 2.3 name has 11 attributes after `cpe:2.3:`, found {}",
                    f.len()
                )));
            }
            let v: Result<Vec<Value>, _> = f.iter().map(|x| fs_value(s, x)).collect();
            return Cpe::from_values(s, v?);
        }
        if let Some(rest) = t.strip_prefix("cpe:/") {
            let f: Vec<&str> = rest.split(':').collect();
            if f.len() > 7 {
                return Err(err("a CPE URI has at most 7 components"));
            }
            let mut v: Vec<Value> = Vec::with_capacity(11);
            for (k, raw) in f.iter().enumerate() {
                if k == 5 && raw.starts_with('~') {
                    // packed: ~edition~sw_edition~target_sw~target_hw~other
                    let packed: Vec<&str> = raw[1..].split('~').collect();
                    if packed.len() != 5 {
                        return Err(err("a packed edition needs five `~`-separated fields"));
                    }
                    v.push(uri_value(s, packed[0])?);
                    let rest: Result<Vec<Value>, _> =
                        packed[1..].iter().map(|x| uri_value(s, x)).collect();
                    let rest = rest?;
                    // language comes before the packed extras in WFN order
                    let lang = match f.get(6) {
                        Some(l) => uri_value(s, l)?,
                        None => Value::Any,
                    };
                    v.push(lang);
                    v.extend(rest);
                    return Cpe::from_values(s, v);
                }
                v.push(uri_value(s, raw)?);
            }
            while v.len() < 11 {
                v.push(Value::Any);
            }
            return Cpe::from_values(s, v);
        }
        Err(err("it must start with `cpe:2.3:` or `cpe:/`"))
    }

    fn from_values(s: &str, v: Vec<Value>) -> Result<Self, CpeError> {
        let mut attrs: [Value; 11] = Default::default();
        for (slot, val) in attrs.iter_mut().zip(v) {
            *slot = val;
        }
        let part = &attrs[0];
        if !matches!(part, Value::Text(p) if p == "a" || p == "o" || p == "h")
            && *part != Value::Any
        {
            return Err(CpeError {
                cpe: s.into(),
                why: "the part must be `a`, `o` or `h`".into(),
            });
        }
        let fields: Vec<String> = attrs.iter().map(fs).collect();
        Ok(Cpe {
            fs: format!("cpe:2.3:{}", fields.join(":")).into(),
        })
    }

    /// All eleven attributes, in WFN order (part, vendor, product, version, update, edition,
    /// language, sw_edition, target_sw, target_hw, other).
    pub fn attributes(&self) -> [Value; 11] {
        let mut out: [Value; 11] = Default::default();
        let rest = &self.fs["cpe:2.3:".len()..];
        for (slot, raw) in out.iter_mut().zip(split_unescaped(rest)) {
            // The stored string was produced by us from valid values, so this cannot fail.
            *slot = fs_value("", raw).unwrap_or(Value::Any);
        }
        out
    }

    /// One attribute by its WFN name (`vendor`, `product`, `version`…).
    pub fn get(&self, name: &str) -> Option<Value> {
        let i = NAMES.iter().position(|n| *n == name)?;
        Some(self.attributes()[i].clone())
    }

    /// The part (`a`, `o`, `h`).
    pub fn part(&self) -> Value {
        self.attributes()[0].clone()
    }
    /// The vendor.
    pub fn vendor(&self) -> Value {
        self.attributes()[1].clone()
    }
    /// The product.
    pub fn product(&self) -> Value {
        self.attributes()[2].clone()
    }
    /// The version.
    pub fn version(&self) -> Value {
        self.attributes()[3].clone()
    }

    /// The formatted-string binding.
    pub fn as_str(&self) -> &str {
        &self.fs
    }
}

fn fs(v: &Value) -> String {
    match v {
        Value::Any => "*".into(),
        Value::Na => "-".into(),
        Value::Text(t) if t == "-" => "\\-".into(),
        Value::Text(t) => {
            let mut out = String::new();
            for c in t.chars() {
                if !(c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-')) {
                    out.push('\\');
                }
                out.push(c);
            }
            out
        }
    }
}

impl fmt::Display for Cpe {
    /// The CPE 2.3 formatted-string binding.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.fs)
    }
}

impl FromStr for Cpe {
    type Err = CpeError;
    fn from_str(s: &str) -> Result<Self, CpeError> {
        Cpe::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formatted_string() {
        let c = Cpe::parse("cpe:2.3:a:openssl:openssl:1.1.1c:*:*:*:*:*:*:*").unwrap();
        assert_eq!(c.vendor(), Value::Text("openssl".into()));
        assert_eq!(c.version(), Value::Text("1.1.1c".into()));
        assert_eq!(c.get("update"), Some(Value::Any));
        assert_eq!(
            c.to_string(),
            "cpe:2.3:a:openssl:openssl:1.1.1c:*:*:*:*:*:*:*"
        );
        let c = Cpe::parse(r"cpe:2.3:a:foo\:bar:x\.y:1.0:-:*:*:*:*:*:*").unwrap();
        assert_eq!(c.vendor(), Value::Text("foo:bar".into()));
        assert_eq!(c.get("update"), Some(Value::Na));
        assert_eq!(c.to_string(), r"cpe:2.3:a:foo\:bar:x.y:1.0:-:*:*:*:*:*:*");
        assert_eq!(Cpe::parse(&c.to_string()).unwrap(), c);
    }

    #[test]
    fn uri_binding() {
        let c = Cpe::parse("cpe:/a:apache:http_server:2.4.1").unwrap();
        assert_eq!(c.product(), Value::Text("http_server".into()));
        assert_eq!(c.get("edition"), Some(Value::Any));
        let c =
            Cpe::parse("cpe:/a:hp:insight_diagnostics:7.4.0.1570::~~online~win2003~x64~").unwrap();
        assert_eq!(c.get("sw_edition"), Some(Value::Text("online".into())));
        assert_eq!(c.get("target_hw"), Some(Value::Text("x64".into())));
    }

    #[test]
    fn rejects_bad_input() {
        for bad in [
            "",
            "cpe:2.3:a:b",
            "cpe:2.3:x:a:b:c:d:e:f:g:h:i:j",
            "cpe:2.3:a:b:c:d:e:f:g:h:i:j:k:l",
            r"cpe:2.3:a:b:c:d:e:f:g:h:i:j:k\",
            "cpe:/a:b%zz",
        ] {
            assert!(Cpe::parse(bad).is_err(), "{bad}");
        }
    }

    proptest::proptest! {
        #[test]
        fn never_panics(s in "\\PC{0,60}") {
            let _ = Cpe::parse(&s);
            let _ = Cpe::parse(&format!("cpe:2.3:{s}"));
            let _ = Cpe::parse(&format!("cpe:/{s}"));
        }
    }
}
