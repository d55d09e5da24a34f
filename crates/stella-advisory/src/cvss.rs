//! CVSS base scores from vectors (v2, v3.0, v3.1; v4.0 in `cvss4`) and the qualitative severity scale.
//!
//! Traps:
//! - v3.1 rounds up with an integer trick (`Roundup`) that avoids floating-point error;
//!   v3.0 used a plain ceiling to one decimal, which differs on some vectors.
//! - Privileges Required weighs more when Scope is Changed (L 0.68, H 0.50).
//! - v2 has no Scope and a different scale: Low < 4.0 ≤ Medium < 7.0 ≤ High.
//! - v4.0 scores come from a MacroVector lookup, not a formula: see `cvss4`.

use std::collections::BTreeMap;

/// Qualitative severity.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
pub enum Level {
    /// Not known.
    Unknown,
    /// No impact (score 0).
    None,
    /// Low.
    Low,
    /// Medium.
    Medium,
    /// High.
    High,
    /// Critical.
    Critical,
}

impl Level {
    /// The v3/v4 scale.
    pub fn from_score(score: f64) -> Level {
        match score {
            s if s <= 0.0 => Level::None,
            s if s < 4.0 => Level::Low,
            s if s < 7.0 => Level::Medium,
            s if s < 9.0 => Level::High,
            _ => Level::Critical,
        }
    }

    /// The v2 scale (no Critical).
    pub fn from_v2_score(score: f64) -> Level {
        match score {
            s if s < 4.0 => Level::Low,
            s if s < 7.0 => Level::Medium,
            _ => Level::High,
        }
    }

    /// A named level as sources write it (`HIGH`, `Important`, `moderate`, `negligible`…).
    pub fn parse(s: &str) -> Option<Level> {
        Some(match s.trim().to_ascii_lowercase().as_str() {
            "critical" => Level::Critical,
            "high" | "important" => Level::High,
            "medium" | "moderate" => Level::Medium,
            "low" | "negligible" | "unimportant" => Level::Low,
            "none" => Level::None,
            _ => return None,
        })
    }

    /// Lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Unknown => "unknown",
            Level::None => "none",
            Level::Low => "low",
            Level::Medium => "medium",
            Level::High => "high",
            Level::Critical => "critical",
        }
    }
}

/// Why a vector could not be scored.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid CVSS vector `{vector}`: {why}")]
pub struct VectorError {
    /// The vector.
    pub vector: String,
    /// What is wrong.
    pub why: String,
}

fn metrics<'a>(
    vector: &'a str,
    parts: impl Iterator<Item = &'a str>,
) -> Result<BTreeMap<&'a str, &'a str>, VectorError> {
    let mut m = BTreeMap::new();
    for p in parts {
        let (k, v) = p.split_once(':').ok_or_else(|| VectorError {
            vector: vector.into(),
            why: format!("`{p}` is not METRIC:VALUE"),
        })?;
        if m.insert(k, v).is_some() {
            return Err(VectorError {
                vector: vector.into(),
                why: format!("metric `{k}` appears twice"),
            });
        }
    }
    Ok(m)
}

fn pick(
    vector: &str,
    m: &BTreeMap<&str, &str>,
    key: &str,
    table: &[(&str, f64)],
) -> Result<f64, VectorError> {
    let v = m.get(key).ok_or_else(|| VectorError {
        vector: vector.into(),
        why: format!("missing base metric `{key}`"),
    })?;
    table
        .iter()
        .find(|(k, _)| k == v)
        .map(|(_, x)| *x)
        .ok_or_else(|| VectorError {
            vector: vector.into(),
            why: format!("`{key}:{v}` is not a valid value"),
        })
}

/// v3.1's Roundup: the smallest one-decimal number ≥ x, computed on integers.
fn roundup_31(x: f64) -> f64 {
    let i = (x * 100_000.0).round() as i64;
    if i % 10_000 == 0 {
        i as f64 / 100_000.0
    } else {
        ((i / 10_000) + 1) as f64 / 10.0
    }
}

fn roundup_30(x: f64) -> f64 {
    (x * 10.0).ceil() / 10.0
}

/// The base score of a v3.0 or v3.1 vector (`CVSS:3.1/AV:N/…`).
pub fn v3_base(vector: &str) -> Result<f64, VectorError> {
    let mut parts = vector.trim().split('/');
    let head = parts.next().unwrap_or("");
    let v31 = match head {
        "CVSS:3.1" => true,
        "CVSS:3.0" => false,
        _ => {
            return Err(VectorError {
                vector: vector.into(),
                why: "it must start with `CVSS:3.0/` or `CVSS:3.1/`".into(),
            });
        }
    };
    let m = metrics(vector, parts)?;
    let changed = match m.get("S") {
        Some(&"U") => false,
        Some(&"C") => true,
        _ => {
            return Err(VectorError {
                vector: vector.into(),
                why: "missing or invalid `S` (scope)".into(),
            });
        }
    };
    let av = pick(
        vector,
        &m,
        "AV",
        &[("N", 0.85), ("A", 0.62), ("L", 0.55), ("P", 0.2)],
    )?;
    let ac = pick(vector, &m, "AC", &[("L", 0.77), ("H", 0.44)])?;
    let pr = if changed {
        pick(vector, &m, "PR", &[("N", 0.85), ("L", 0.68), ("H", 0.5)])?
    } else {
        pick(vector, &m, "PR", &[("N", 0.85), ("L", 0.62), ("H", 0.27)])?
    };
    let ui = pick(vector, &m, "UI", &[("N", 0.85), ("R", 0.62)])?;
    let cia = [("H", 0.56), ("L", 0.22), ("N", 0.0)];
    let (c, i, a) = (
        pick(vector, &m, "C", &cia)?,
        pick(vector, &m, "I", &cia)?,
        pick(vector, &m, "A", &cia)?,
    );
    let iss = 1.0 - (1.0 - c) * (1.0 - i) * (1.0 - a);
    let impact = if changed {
        7.52 * (iss - 0.029) - 3.25 * (iss - 0.02).powi(15)
    } else {
        6.42 * iss
    };
    let exploitability = 8.22 * av * ac * pr * ui;
    if impact <= 0.0 {
        return Ok(0.0);
    }
    let raw = if changed {
        (1.08 * (impact + exploitability)).min(10.0)
    } else {
        (impact + exploitability).min(10.0)
    };
    Ok(if v31 {
        roundup_31(raw)
    } else {
        roundup_30(raw)
    })
}

/// The base score of a v2 vector (`AV:N/AC:L/Au:N/C:P/I:P/A:P`, optionally in parentheses or
/// with a `CVSS:2.0/` prefix).
pub fn v2_base(vector: &str) -> Result<f64, VectorError> {
    let t = vector.trim().trim_start_matches('(').trim_end_matches(')');
    let t = t.strip_prefix("CVSS:2.0/").unwrap_or(t);
    let m = metrics(vector, t.split('/'))?;
    let av = pick(vector, &m, "AV", &[("L", 0.395), ("A", 0.646), ("N", 1.0)])?;
    let ac = pick(vector, &m, "AC", &[("H", 0.35), ("M", 0.61), ("L", 0.71)])?;
    let au = pick(vector, &m, "Au", &[("M", 0.45), ("S", 0.56), ("N", 0.704)])?;
    let cia = [("N", 0.0), ("P", 0.275), ("C", 0.660)];
    let (c, i, a) = (
        pick(vector, &m, "C", &cia)?,
        pick(vector, &m, "I", &cia)?,
        pick(vector, &m, "A", &cia)?,
    );
    let impact = 10.41 * (1.0 - (1.0 - c) * (1.0 - i) * (1.0 - a));
    let exploitability = 20.0 * av * ac * au;
    let f = if impact == 0.0 { 0.0 } else { 1.176 };
    let base = ((0.6 * impact) + (0.4 * exploitability) - 1.5) * f;
    Ok((base * 10.0).round() / 10.0)
}

/// Score and level of a vector of any supported version; `None` for unknown or broken forms.
pub fn score(vector: &str) -> Option<(f64, Level)> {
    let t = vector.trim();
    if t.starts_with("CVSS:3.") {
        return v3_base(t).ok().map(|s| (s, Level::from_score(s)));
    }
    if t.starts_with("CVSS:4") {
        return crate::cvss4::v4_score(t)
            .ok()
            .map(|s| (s, Level::from_score(s)));
    }
    v2_base(t).ok().map(|s| (s, Level::from_v2_score(s)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_v3_scores() {
        for (v, want) in [
            ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", 9.8),
            ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H", 10.0),
            ("CVSS:3.1/AV:L/AC:L/PR:H/UI:N/S:U/C:H/I:H/A:H", 6.7),
            ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:L/I:N/A:N", 5.3),
            ("CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:N/I:L/A:N", 3.7),
            ("CVSS:3.0/AV:N/AC:H/PR:N/UI:N/S:U/C:L/I:L/A:N", 4.8),
            ("CVSS:3.1/AV:N/AC:L/PR:L/UI:R/S:C/C:L/I:L/A:N", 5.4),
            ("CVSS:3.1/AV:P/AC:H/PR:H/UI:R/S:U/C:N/I:N/A:N", 0.0),
        ] {
            assert_eq!(v3_base(v).unwrap(), want, "{v}");
        }
        assert_eq!(Level::from_score(9.8), Level::Critical);
        assert!(v3_base("CVSS:3.1/AV:N/AC:L").is_err());
        assert!(v3_base("CVSS:3.1/AV:X/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H").is_err());
    }

    #[test]
    fn known_v2_scores() {
        for (v, want) in [
            ("AV:N/AC:L/Au:N/C:P/I:N/A:N", 5.0),
            ("AV:N/AC:M/Au:N/C:N/I:P/A:N", 4.3),
            ("AV:N/AC:L/Au:N/C:P/I:P/A:P", 7.5),
            ("AV:N/AC:L/Au:N/C:C/I:C/A:C", 10.0),
            ("(AV:L/AC:H/Au:M/C:N/I:N/A:N)", 0.0),
        ] {
            assert_eq!(v2_base(v).unwrap(), want, "{v}");
        }
        assert_eq!(Level::from_v2_score(7.5), Level::High);
    }
}
