//! Comparator lists (`>= 4.5.0, < 4.8.6`, `<1.2 || >=2.0 <2.1`, `=2.8.107`) as OSV range events,
//! for the feeds that state affected versions that way (GitHub's GraphQL shape, GitLab, Root.io).
//!
//! Traps: an upper bound is a *fix* only when the feed names that version as fixed; otherwise
//! it is a limit (`<`) or the last affected version (`<=`), so no fix is claimed that nobody
//! released; `=` names single versions; `||` separates alternatives, each its own range.

use crate::model::RangeEvent;

/// What one alternative says: range events, or explicitly affected versions.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Parsed {
    /// `introduced` then an upper bound, when the alternative is a range.
    pub events: Vec<RangeEvent>,
    /// Versions named with `=`.
    pub versions: Vec<String>,
}

/// Parses one alternative (comparators separated by `,` or spaces). `fixed` lists the
/// versions the feed says fixed the issue: a `<` bound among them becomes a fix.
pub fn parse(alt: &str, fixed: &[String]) -> Result<Parsed, String> {
    let mut introduced = None;
    let mut upper: Option<RangeEvent> = None;
    let mut out = Parsed::default();
    // `>= 1.0` and `>=1.0` both occur: glue operators to their versions first
    let mut tokens: Vec<String> = Vec::new();
    for t in alt
        .split(|c: char| c == ',' || c.is_whitespace())
        .filter(|t| !t.is_empty())
    {
        match tokens.last_mut() {
            Some(last) if matches!(last.as_str(), "<" | "<=" | ">" | ">=" | "=" | "==") => {
                last.push_str(t)
            }
            _ => tokens.push(t.to_string()),
        }
    }
    for part in &tokens {
        let (op, v) = ["<=", ">=", "==", "<", ">", "="]
            .iter()
            .find_map(|op| part.strip_prefix(op).map(|v| (*op, v.trim())))
            .ok_or_else(|| format!("`{part}` has no comparator"))?;
        if v.is_empty() {
            return Err(format!("`{part}` has no version"));
        }
        match op {
            // feeds write inclusive lower bounds; `>` is read as one (a version too many)
            ">=" | ">" => introduced = Some(v.to_string()),
            "<" if fixed.iter().any(|f| f == v) => upper = Some(RangeEvent::Fixed(v.to_string())),
            "<" => upper = Some(RangeEvent::Limit(v.to_string())),
            "<=" => upper = Some(RangeEvent::LastAffected(v.to_string())),
            _ => out.versions.push(v.to_string()),
        }
    }
    let ranged = introduced.is_some() || upper.is_some();
    if !out.versions.is_empty() && ranged {
        return Err(format!("`{alt}` mixes `=` with a range"));
    }
    if out.versions.is_empty() {
        out.events.push(RangeEvent::Introduced(
            introduced.unwrap_or_else(|| "0".into()),
        ));
        out.events.extend(upper);
    }
    Ok(out)
}

/// Parses `a || b || …`.
pub fn parse_alternatives(s: &str, fixed: &[String]) -> Result<Vec<Parsed>, String> {
    s.split("||")
        .map(str::trim)
        .filter(|a| !a.is_empty())
        .map(|a| parse(a, fixed))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use RangeEvent::*;

    fn ev(s: &str, fixed: &[&str]) -> Parsed {
        let fixed: Vec<String> = fixed.iter().map(|s| s.to_string()).collect();
        parse(s, &fixed).unwrap()
    }

    #[test]
    fn comparator_lists() {
        assert_eq!(
            ev(">= 4.5.0, < 4.8.6", &["4.8.6"]).events,
            [Introduced("4.5.0".into()), Fixed("4.8.6".into())]
        );
        assert_eq!(
            ev("<1.2", &[]).events,
            [Introduced("0".into()), Limit("1.2".into())]
        );
        assert_eq!(
            ev("<= 1.2", &[]).events,
            [Introduced("0".into()), LastAffected("1.2".into())]
        );
        assert_eq!(ev("=2.8.107", &[]).versions, ["2.8.107"]);
        assert_eq!(ev("= 1.0", &[]).events, Vec::<RangeEvent>::new());
        assert_eq!(
            ev(">=1.0 <2.0", &["2.0"]).events,
            [Introduced("1.0".into()), Fixed("2.0".into())]
        );
        assert!(parse("~1.0", &[]).is_err());
        assert!(parse(">=1 =2", &[]).is_err());
        let alts = parse_alternatives("<1.2 || >=2.0 <2.1", &["2.1".into()]).unwrap();
        assert_eq!(alts.len(), 2);
        assert_eq!(alts[1].events[1], Fixed("2.1".into()));
    }
}
