//! Classifying license strings: SPDX identifiers (canonical case), expressions, free text.

use std::collections::HashMap;
use std::sync::OnceLock;

static IDS: &str = include_str!("../data/spdx-license-ids.txt");

fn exact() -> &'static std::collections::HashSet<&'static str> {
    static T: OnceLock<std::collections::HashSet<&'static str>> = OnceLock::new();
    T.get_or_init(|| IDS.lines().filter(|l| !l.is_empty()).collect())
}

fn table() -> &'static HashMap<String, &'static str> {
    static T: OnceLock<HashMap<String, &'static str>> = OnceLock::new();
    T.get_or_init(|| {
        IDS.lines()
            .filter(|l| !l.is_empty())
            .map(|l| (l.to_ascii_lowercase(), l))
            .collect()
    })
}

/// What a license string is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum License<'a> {
    /// A known SPDX identifier, in canonical case.
    Id(&'static str),
    /// An SPDX expression (`MIT OR Apache-2.0`, `GPL-2.0-only WITH Classpath-exception-2.0`).
    Expression(&'a str),
    /// Anything else.
    Name(&'a str),
}

/// Classifies one license string.
pub fn classify(s: &str) -> License<'_> {
    let t = s.trim();
    if let Some(id) = exact().get(t) {
        return License::Id(id);
    }
    if let Some(id) = table().get(&t.to_ascii_lowercase()) {
        return License::Id(id);
    }
    if expression_ok(t) {
        License::Expression(t)
    } else {
        License::Name(t)
    }
}

/// Whether `s` is an SPDX expression we can pass on: at least one operator or a
/// `LicenseRef-`, and every other token a known identifier (optionally `+`), a `LicenseRef-`,
/// or the exception after `WITH`; parentheses balanced.
fn expression_ok(s: &str) -> bool {
    let spaced = s.replace('(', " ( ").replace(')', " ) ");
    let mut depth = 0i32;
    let mut operator_or_ref = false;
    let mut after_with = false;
    let mut expect_operand = true;
    for tok in spaced.split_whitespace() {
        match tok {
            "(" => {
                depth += 1;
                continue;
            }
            ")" => {
                depth -= 1;
                if depth < 0 {
                    return false;
                }
                continue;
            }
            "AND" | "OR" | "and" | "or" => {
                if expect_operand {
                    return false;
                }
                operator_or_ref = true;
                expect_operand = true;
                continue;
            }
            "WITH" | "with" => {
                if expect_operand {
                    return false;
                }
                operator_or_ref = true;
                after_with = true;
                expect_operand = true;
                continue;
            }
            _ => {}
        }
        let ok = if after_with {
            tok.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-')
        } else if let Some(r) = tok
            .strip_prefix("LicenseRef-")
            .or_else(|| tok.split_once(":LicenseRef-").map(|(_, r)| r))
        {
            operator_or_ref = true;
            !r.is_empty()
                && r.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-')
        } else {
            table().contains_key(&tok.trim_end_matches('+').to_ascii_lowercase())
        };
        if !ok || !expect_operand {
            return false;
        }
        after_with = false;
        expect_operand = false;
    }
    depth == 0 && !expect_operand && operator_or_ref
}

/// `LicenseRef-` + the name with every character outside `[A-Za-z0-9.-]` replaced by `-`:
/// how a free-text license name is written where an SPDX expression is needed.
pub fn license_ref(name: &str) -> String {
    let s: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                c
            } else {
                '-'
            }
        })
        .collect();
    format!("LicenseRef-{s}")
}

/// Whether `s` is a known SPDX license identifier.
pub fn is_spdx_id(s: &str) -> bool {
    matches!(classify(s), License::Id(_))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies() {
        assert_eq!(classify("mit"), License::Id("MIT"));
        assert_eq!(classify("Apache-2.0"), License::Id("Apache-2.0"));
        assert_eq!(
            classify("MIT OR Apache-2.0"),
            License::Expression("MIT OR Apache-2.0")
        );
        assert_eq!(
            classify("Some custom license"),
            License::Name("Some custom license")
        );
        assert_eq!(
            classify("LicenseRef-foo"),
            License::Expression("LicenseRef-foo")
        );
        assert_eq!(
            classify("(MIT OR Apache-2.0) AND GPL-2.0-only WITH Classpath-exception-2.0"),
            License::Expression(
                "(MIT OR Apache-2.0) AND GPL-2.0-only WITH Classpath-exception-2.0"
            )
        );
        assert!(matches!(
            classify("GNU Lesser General Public License, version 3 or greater"),
            License::Name(_)
        ));
        assert!(matches!(
            classify("Apache License 2.0 OR MIT"),
            License::Name(_)
        ));
        assert!(matches!(classify("MIT OR"), License::Name(_)));
        assert!(matches!(classify("(MIT"), License::Name(_)));
    }
}
