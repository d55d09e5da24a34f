//! CVSS v4.0 scores: the MacroVector lookup of the FIRST specification (§8), refined by the
//! severity distance of the vector from the highest vectors of its MacroVector.
//!
//! Traps:
//! - The score is not a formula of the metrics: six equivalence classes (EQ1–EQ6) pick one of
//!   270 expert-scored MacroVectors, and the vector's distance from that MacroVector's highest
//!   vectors moves it towards the next lower MacroVector.
//! - EQ3 and EQ6 are scored together; `00` has two next-lower MacroVectors (take the higher).
//! - Unset threat/environmental metrics take their worst case (E:A, CR/IR/AR:H); `M…` metrics
//!   replace the base ones they modify.
//! - A vector with no impact at all (VC/VI/VA/SC/SI/SA all N) scores 0.0 whatever else it says.
//! - The arithmetic is kept in the reference calculator's order, and the final rounding lifts
//!   ties by 1e-6 as the reference implementations do since late 2024; without the lift about
//!   0.5 % of vectors score a tenth low.

use std::collections::BTreeMap;

use crate::cvss::VectorError;

/// Metrics, their allowed values, and whether a vector must carry them.
const METRICS: &[(&str, &[&str], bool)] = &[
    ("AV", &["N", "A", "L", "P"], true),
    ("AC", &["L", "H"], true),
    ("AT", &["N", "P"], true),
    ("PR", &["N", "L", "H"], true),
    ("UI", &["N", "P", "A"], true),
    ("VC", &["H", "L", "N"], true),
    ("VI", &["H", "L", "N"], true),
    ("VA", &["H", "L", "N"], true),
    ("SC", &["H", "L", "N"], true),
    ("SI", &["H", "L", "N"], true),
    ("SA", &["H", "L", "N"], true),
    ("E", &["X", "A", "P", "U"], false),
    ("CR", &["X", "H", "M", "L"], false),
    ("IR", &["X", "H", "M", "L"], false),
    ("AR", &["X", "H", "M", "L"], false),
    ("MAV", &["X", "N", "A", "L", "P"], false),
    ("MAC", &["X", "L", "H"], false),
    ("MAT", &["X", "N", "P"], false),
    ("MPR", &["X", "N", "L", "H"], false),
    ("MUI", &["X", "N", "P", "A"], false),
    ("MVC", &["X", "H", "L", "N"], false),
    ("MVI", &["X", "H", "L", "N"], false),
    ("MVA", &["X", "H", "L", "N"], false),
    ("MSC", &["X", "H", "L", "N"], false),
    ("MSI", &["X", "S", "H", "L", "N"], false),
    ("MSA", &["X", "S", "H", "L", "N"], false),
    ("S", &["X", "N", "P"], false),
    ("AU", &["X", "N", "Y"], false),
    ("R", &["X", "A", "U", "I"], false),
    ("V", &["X", "D", "C"], false),
    ("RE", &["X", "L", "M", "H"], false),
    ("U", &["X", "Clear", "Green", "Amber", "Red"], false),
];

/// MacroVector scores (FIRST CVSS v4.0 specification, Table 24 / the reference lookup).
const LOOKUP: &[(&str, f64)] = &[
    ("000000", 10.0),
    ("000001", 9.9),
    ("000010", 9.8),
    ("000011", 9.5),
    ("000020", 9.5),
    ("000021", 9.2),
    ("000100", 10.0),
    ("000101", 9.6),
    ("000110", 9.3),
    ("000111", 8.7),
    ("000120", 9.1),
    ("000121", 8.1),
    ("000200", 9.3),
    ("000201", 9.0),
    ("000210", 8.9),
    ("000211", 8.0),
    ("000220", 8.1),
    ("000221", 6.8),
    ("001000", 9.8),
    ("001001", 9.5),
    ("001010", 9.5),
    ("001011", 9.2),
    ("001020", 9.0),
    ("001021", 8.4),
    ("001100", 9.3),
    ("001101", 9.2),
    ("001110", 8.9),
    ("001111", 8.1),
    ("001120", 8.1),
    ("001121", 6.5),
    ("001200", 8.8),
    ("001201", 8.0),
    ("001210", 7.8),
    ("001211", 7.0),
    ("001220", 6.9),
    ("001221", 4.8),
    ("002001", 9.2),
    ("002011", 8.2),
    ("002021", 7.2),
    ("002101", 7.9),
    ("002111", 6.9),
    ("002121", 5.0),
    ("002201", 6.9),
    ("002211", 5.5),
    ("002221", 2.7),
    ("010000", 9.9),
    ("010001", 9.7),
    ("010010", 9.5),
    ("010011", 9.2),
    ("010020", 9.2),
    ("010021", 8.5),
    ("010100", 9.5),
    ("010101", 9.1),
    ("010110", 9.0),
    ("010111", 8.3),
    ("010120", 8.4),
    ("010121", 7.1),
    ("010200", 9.2),
    ("010201", 8.1),
    ("010210", 8.2),
    ("010211", 7.1),
    ("010220", 7.2),
    ("010221", 5.3),
    ("011000", 9.5),
    ("011001", 9.3),
    ("011010", 9.2),
    ("011011", 8.5),
    ("011020", 8.5),
    ("011021", 7.3),
    ("011100", 9.2),
    ("011101", 8.2),
    ("011110", 8.0),
    ("011111", 7.2),
    ("011120", 7.0),
    ("011121", 5.9),
    ("011200", 8.4),
    ("011201", 7.0),
    ("011210", 7.1),
    ("011211", 5.2),
    ("011220", 5.0),
    ("011221", 3.0),
    ("012001", 8.6),
    ("012011", 7.5),
    ("012021", 5.2),
    ("012101", 7.1),
    ("012111", 5.2),
    ("012121", 2.9),
    ("012201", 6.3),
    ("012211", 2.9),
    ("012221", 1.7),
    ("100000", 9.8),
    ("100001", 9.5),
    ("100010", 9.4),
    ("100011", 8.7),
    ("100020", 9.1),
    ("100021", 8.1),
    ("100100", 9.4),
    ("100101", 8.9),
    ("100110", 8.6),
    ("100111", 7.4),
    ("100120", 7.7),
    ("100121", 6.4),
    ("100200", 8.7),
    ("100201", 7.5),
    ("100210", 7.4),
    ("100211", 6.3),
    ("100220", 6.3),
    ("100221", 4.9),
    ("101000", 9.4),
    ("101001", 8.9),
    ("101010", 8.8),
    ("101011", 7.7),
    ("101020", 7.6),
    ("101021", 6.7),
    ("101100", 8.6),
    ("101101", 7.6),
    ("101110", 7.4),
    ("101111", 5.8),
    ("101120", 5.9),
    ("101121", 5.0),
    ("101200", 7.2),
    ("101201", 5.7),
    ("101210", 5.7),
    ("101211", 5.2),
    ("101220", 5.2),
    ("101221", 2.5),
    ("102001", 8.3),
    ("102011", 7.0),
    ("102021", 5.4),
    ("102101", 6.5),
    ("102111", 5.8),
    ("102121", 2.6),
    ("102201", 5.3),
    ("102211", 2.1),
    ("102221", 1.3),
    ("110000", 9.5),
    ("110001", 9.0),
    ("110010", 8.8),
    ("110011", 7.6),
    ("110020", 7.6),
    ("110021", 7.0),
    ("110100", 9.0),
    ("110101", 7.7),
    ("110110", 7.5),
    ("110111", 6.2),
    ("110120", 6.1),
    ("110121", 5.3),
    ("110200", 7.7),
    ("110201", 6.6),
    ("110210", 6.8),
    ("110211", 5.9),
    ("110220", 5.2),
    ("110221", 3.0),
    ("111000", 8.9),
    ("111001", 7.8),
    ("111010", 7.6),
    ("111011", 6.7),
    ("111020", 6.2),
    ("111021", 5.8),
    ("111100", 7.4),
    ("111101", 5.9),
    ("111110", 5.7),
    ("111111", 5.7),
    ("111120", 4.7),
    ("111121", 2.3),
    ("111200", 6.1),
    ("111201", 5.2),
    ("111210", 5.7),
    ("111211", 2.9),
    ("111220", 2.4),
    ("111221", 1.6),
    ("112001", 7.1),
    ("112011", 5.9),
    ("112021", 3.0),
    ("112101", 5.8),
    ("112111", 2.6),
    ("112121", 1.5),
    ("112201", 2.3),
    ("112211", 1.3),
    ("112221", 0.6),
    ("200000", 9.3),
    ("200001", 8.7),
    ("200010", 8.6),
    ("200011", 7.2),
    ("200020", 7.5),
    ("200021", 5.8),
    ("200100", 8.6),
    ("200101", 7.4),
    ("200110", 7.4),
    ("200111", 6.1),
    ("200120", 5.6),
    ("200121", 3.4),
    ("200200", 7.0),
    ("200201", 5.4),
    ("200210", 5.2),
    ("200211", 4.0),
    ("200220", 4.0),
    ("200221", 2.2),
    ("201000", 8.5),
    ("201001", 7.5),
    ("201010", 7.4),
    ("201011", 5.5),
    ("201020", 6.2),
    ("201021", 5.1),
    ("201100", 7.2),
    ("201101", 5.7),
    ("201110", 5.5),
    ("201111", 4.1),
    ("201120", 4.6),
    ("201121", 1.9),
    ("201200", 5.3),
    ("201201", 3.6),
    ("201210", 3.4),
    ("201211", 1.9),
    ("201220", 1.9),
    ("201221", 0.8),
    ("202001", 6.4),
    ("202011", 5.1),
    ("202021", 2.0),
    ("202101", 4.7),
    ("202111", 2.1),
    ("202121", 1.1),
    ("202201", 2.4),
    ("202211", 0.9),
    ("202221", 0.4),
    ("210000", 8.8),
    ("210001", 7.5),
    ("210010", 7.3),
    ("210011", 5.3),
    ("210020", 6.0),
    ("210021", 5.0),
    ("210100", 7.3),
    ("210101", 5.5),
    ("210110", 5.9),
    ("210111", 4.0),
    ("210120", 4.1),
    ("210121", 2.0),
    ("210200", 5.4),
    ("210201", 4.3),
    ("210210", 4.5),
    ("210211", 2.2),
    ("210220", 2.0),
    ("210221", 1.1),
    ("211000", 7.5),
    ("211001", 5.5),
    ("211010", 5.8),
    ("211011", 4.5),
    ("211020", 4.0),
    ("211021", 2.1),
    ("211100", 6.1),
    ("211101", 5.1),
    ("211110", 4.8),
    ("211111", 1.8),
    ("211120", 2.0),
    ("211121", 0.9),
    ("211200", 4.6),
    ("211201", 1.8),
    ("211210", 1.7),
    ("211211", 0.7),
    ("211220", 0.8),
    ("211221", 0.2),
    ("212001", 5.3),
    ("212011", 2.4),
    ("212021", 1.4),
    ("212101", 2.4),
    ("212111", 1.2),
    ("212121", 0.5),
    ("212201", 1.0),
    ("212211", 0.3),
    ("212221", 0.1),
];

fn lookup(mv: [u8; 6]) -> Option<f64> {
    let key: String = mv.iter().map(|d| char::from(b'0' + d)).collect();
    LOOKUP
        .binary_search_by(|(k, _)| (*k).cmp(key.as_str()))
        .ok()
        .map(|i| LOOKUP[i].1)
}

/// The highest-severity vectors of each EQ level (metric values, in the order they are compared).
fn eq1_maxes(l: u8) -> &'static [&'static str] {
    match l {
        0 => &["AV:N/PR:N/UI:N"],
        1 => &["AV:A/PR:N/UI:N", "AV:N/PR:L/UI:N", "AV:N/PR:N/UI:P"],
        _ => &["AV:P/PR:N/UI:N", "AV:A/PR:L/UI:P"],
    }
}
fn eq2_maxes(l: u8) -> &'static [&'static str] {
    match l {
        0 => &["AC:L/AT:N"],
        _ => &["AC:H/AT:N", "AC:L/AT:P"],
    }
}
fn eq3eq6_maxes(eq3: u8, eq6: u8) -> &'static [&'static str] {
    match (eq3, eq6) {
        (0, 0) => &["VC:H/VI:H/VA:H/CR:H/IR:H/AR:H"],
        (0, _) => &[
            "VC:H/VI:H/VA:L/CR:M/IR:M/AR:H",
            "VC:H/VI:H/VA:H/CR:M/IR:M/AR:M",
        ],
        (1, 0) => &[
            "VC:L/VI:H/VA:H/CR:H/IR:H/AR:H",
            "VC:H/VI:L/VA:H/CR:H/IR:H/AR:H",
        ],
        (1, _) => &[
            "VC:L/VI:H/VA:L/CR:H/IR:M/AR:H",
            "VC:L/VI:H/VA:H/CR:H/IR:M/AR:M",
            "VC:H/VI:L/VA:H/CR:M/IR:H/AR:M",
            "VC:H/VI:L/VA:L/CR:M/IR:H/AR:H",
            "VC:L/VI:L/VA:H/CR:H/IR:H/AR:M",
        ],
        _ => &["VC:L/VI:L/VA:L/CR:H/IR:H/AR:H"],
    }
}
fn eq4_maxes(l: u8) -> &'static [&'static str] {
    match l {
        0 => &["SC:H/SI:S/SA:S"],
        1 => &["SC:H/SI:H/SA:H"],
        _ => &["SC:L/SI:L/SA:L"],
    }
}

/// Depth of each MacroVector (its largest severity distance, + 1), in steps of 0.1.
fn max_severity(eq: usize, l: u8, eq6: u8) -> f64 {
    let n = match (eq, l) {
        (1, 0) => 1,
        (1, 1) => 4,
        (1, _) => 5,
        (2, 0) => 1,
        (2, _) => 2,
        (3, 0) => {
            if eq6 == 0 {
                7
            } else {
                6
            }
        }
        (3, 1) => 8,
        (3, _) => 10,
        (4, 0) => 6,
        (4, 1) => 5,
        (4, _) => 4,
        _ => 1,
    };
    f64::from(n) * 0.1
}

/// Severity level of a metric value, in the reference calculator's units.
fn level(metric: &str, v: &str) -> f64 {
    match (metric, v) {
        ("AV", "N") | ("PR", "N") | ("UI", "N") | ("AC", "L") | ("AT", "N") => 0.0,
        ("AV", "A") | ("PR", "L") | ("UI", "P") | ("AC", "H") | ("AT", "P") => 0.1,
        ("AV", "L") | ("PR", "H") | ("UI", "A") => 0.2,
        ("AV", "P") => 0.3,
        ("VC" | "VI" | "VA", "H") => 0.0,
        ("VC" | "VI" | "VA", "L") => 0.1,
        ("VC" | "VI" | "VA", "N") => 0.2,
        ("SC", "H") => 0.1,
        ("SC", "L") => 0.2,
        ("SC", "N") => 0.3,
        ("SI" | "SA", "S") => 0.0,
        ("SI" | "SA", "H") => 0.1,
        ("SI" | "SA", "L") => 0.2,
        ("SI" | "SA", "N") => 0.3,
        ("CR" | "IR" | "AR", "H") => 0.0,
        ("CR" | "IR" | "AR", "M") => 0.1,
        ("CR" | "IR" | "AR", "L") => 0.2,
        _ => 0.0,
    }
}

struct Vector<'a>(BTreeMap<&'a str, &'a str>);

impl<'a> Vector<'a> {
    /// The value that counts for `metric`: worst case for unset E/CR/IR/AR, and a set
    /// `M…` metric over the base one.
    fn get(&self, metric: &str) -> &'a str {
        let v = self.0.get(metric).copied().unwrap_or("X");
        match (metric, v) {
            ("E", "X") => return "A",
            ("CR" | "IR" | "AR", "X") => return "H",
            _ => {}
        }
        if let Some(m) = self.0.get(format!("M{metric}").as_str())
            && *m != "X"
        {
            return m;
        }
        v
    }

    fn macro_vector(&self) -> [u8; 6] {
        let g = |m| self.get(m);
        let (av, pr, ui) = (g("AV"), g("PR"), g("UI"));
        let eq1 = if av == "N" && pr == "N" && ui == "N" {
            0
        } else if (av == "N" || pr == "N" || ui == "N") && av != "P" {
            1
        } else {
            2
        };
        let eq2 = u8::from(!(g("AC") == "L" && g("AT") == "N"));
        let (vc, vi, va) = (g("VC"), g("VI"), g("VA"));
        let eq3 = if vc == "H" && vi == "H" {
            0
        } else if vc == "H" || vi == "H" || va == "H" {
            1
        } else {
            2
        };
        let eq4 = if g("MSI") == "S" || g("MSA") == "S" {
            0
        } else if g("SC") == "H" || g("SI") == "H" || g("SA") == "H" {
            1
        } else {
            2
        };
        let eq5 = match g("E") {
            "A" => 0,
            "P" => 1,
            _ => 2,
        };
        let eq6 = u8::from(
            !((g("CR") == "H" && vc == "H")
                || (g("IR") == "H" && vi == "H")
                || (g("AR") == "H" && va == "H")),
        );
        [eq1, eq2, eq3, eq4, eq5, eq6]
    }
}

fn parse(vector: &str) -> Result<Vector<'_>, VectorError> {
    let err = |why: String| VectorError {
        vector: vector.to_string(),
        why,
    };
    let mut parts = vector.trim().split('/');
    if parts.next() != Some("CVSS:4.0") {
        return Err(err("it must start with `CVSS:4.0/`".into()));
    }
    let mut m = BTreeMap::new();
    for p in parts {
        let (k, v) = p
            .split_once(':')
            .ok_or_else(|| err(format!("`{p}` is not METRIC:VALUE")))?;
        let Some((_, allowed, _)) = METRICS.iter().find(|(name, _, _)| *name == k) else {
            return Err(err(format!("unknown metric `{k}`")));
        };
        if !allowed.contains(&v) {
            return Err(err(format!("`{v}` is not a value of {k}")));
        }
        if m.insert(k, v).is_some() {
            return Err(err(format!("{k} is given twice")));
        }
    }
    for (name, _, required) in METRICS {
        if *required && !m.contains_key(name) {
            return Err(err(format!("the base metric {name} is missing")));
        }
    }
    Ok(Vector(m))
}

/// The CVSS v4.0 score of a vector (CVSS-B, -BT, -BE or -BTE: whatever metrics it carries).
pub fn v4_score(vector: &str) -> Result<f64, VectorError> {
    let v = parse(vector)?;
    if ["VC", "VI", "VA", "SC", "SI", "SA"]
        .iter()
        .all(|m| v.get(m) == "N")
    {
        return Ok(0.0);
    }
    let mv = v.macro_vector();
    let [eq1, eq2, eq3, eq4, _, eq6] = mv;
    let Some(value) = lookup(mv) else {
        return Err(VectorError {
            vector: vector.to_string(),
            why: "its MacroVector has no score".into(),
        });
    };
    let with = |i: usize, d: u8| {
        let mut x = mv;
        x[i] += d;
        lookup(x)
    };
    let lower_eq1 = with(0, 1);
    let lower_eq2 = with(1, 1);
    let lower_eq3eq6 = match (eq3, eq6) {
        (1, 1) | (0, 1) => with(2, 1),
        (1, 0) => with(5, 1),
        (0, 0) => match (with(5, 1), with(2, 1)) {
            // the two ways down: the higher one
            (Some(l), Some(r)) => Some(if l > r { l } else { r }),
            (l, r) => l.or(r),
        },
        _ => {
            let mut x = mv;
            x[2] += 1;
            x[5] += 1;
            lookup(x)
        }
    };
    let lower_eq4 = with(3, 1);
    let lower_eq5 = with(4, 1);

    // the first highest vector of the MacroVector that the vector does not exceed
    let metrics_of = |s: &'static str| {
        s.split('/')
            .filter_map(|p| p.split_once(':'))
            .collect::<Vec<_>>()
    };
    let order = [
        "AV", "PR", "UI", "AC", "AT", "VC", "VI", "VA", "SC", "SI", "SA", "CR", "IR", "AR",
    ];
    let mut dist: BTreeMap<&str, f64> = BTreeMap::new();
    'search: for a in eq1_maxes(eq1) {
        for b in eq2_maxes(eq2) {
            for c in eq3eq6_maxes(eq3, eq6) {
                for d in eq4_maxes(eq4) {
                    let mut max: BTreeMap<&str, &str> = BTreeMap::new();
                    for s in [a, b, c, d] {
                        max.extend(metrics_of(s));
                    }
                    dist.clear();
                    for m in order {
                        let here = level(m, v.get(m));
                        let top = level(m, max.get(m).copied().unwrap_or(""));
                        dist.insert(m, here - top);
                    }
                    if dist.values().all(|d| *d >= 0.0) {
                        break 'search;
                    }
                }
            }
        }
    }
    let d = |m: &str| dist.get(m).copied().unwrap_or(0.0);
    let cur_eq1 = d("AV") + d("PR") + d("UI");
    let cur_eq2 = d("AC") + d("AT");
    let cur_eq3eq6 = d("VC") + d("VI") + d("VA") + d("CR") + d("IR") + d("AR");
    let cur_eq4 = d("SC") + d("SI") + d("SA");

    let mut n = 0u32;
    let mut total = 0.0;
    for (lower, current, depth) in [
        (lower_eq1, cur_eq1, max_severity(1, eq1, eq6)),
        (lower_eq2, cur_eq2, max_severity(2, eq2, eq6)),
        (lower_eq3eq6, cur_eq3eq6, max_severity(3, eq3, eq6)),
        (lower_eq4, cur_eq4, max_severity(4, eq4, eq6)),
    ] {
        if let Some(lower) = lower {
            n += 1;
            total += (value - lower) * (current / depth);
        }
    }
    // EQ5 has no depth: it counts towards the mean with a distance of 0
    if lower_eq5.is_some() {
        n += 1;
    }
    let mean = if n == 0 { 0.0 } else { total / f64::from(n) };
    let score = (value - mean).clamp(0.0, 10.0);
    // Round half up, lifted by 1e-6 so that a tie computed one ulp low (8.6 - 7.15 =
    // 1.4499999…) still rounds up: the upstream fix (cvss-v4-calculator#67, cvss#65).
    Ok(((score + 1e-6) * 10.0).round() / 10.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookup_is_sorted_and_complete() {
        assert_eq!(LOOKUP.len(), 270);
        assert!(LOOKUP.windows(2).all(|w| w[0].0 < w[1].0));
    }

    #[test]
    fn known_scores() {
        for (v, want) in [
            (
                "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:H/SI:H/SA:H",
                10.0,
            ),
            (
                "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:L/VI:L/VA:L/SC:N/SI:N/SA:N",
                6.9,
            ),
            (
                "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:N/VI:N/VA:N/SC:N/SI:N/SA:N",
                0.0,
            ),
            // the upstream rounding fix's own example: 8.55 computed as 8.5499… rounds up
            (
                "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:P/VC:H/VI:L/VA:N/SC:H/SI:H/SA:H",
                8.6,
            ),
        ] {
            assert_eq!(v4_score(v).unwrap(), want, "{v}");
        }
    }

    #[test]
    fn mangled_vectors_never_panic() {
        let base = "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:L/VA:N/SC:H/SI:H/SA:H/E:P/MSI:S";
        let alphabet = b"CVS:4.0/ANLTPRUIHSEXMQ";
        let mut x: u64 = 7;
        for _ in 0..20_000 {
            let mut b = base.as_bytes().to_vec();
            for _ in 0..3 {
                x = x
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                let at = (x >> 33) as usize % b.len();
                let c = alphabet[(x >> 13) as usize % alphabet.len()];
                match (x >> 7) % 3 {
                    0 => b[at] = c,
                    1 => b.insert(at, c),
                    _ => {
                        b.remove(at);
                    }
                }
            }
            if let Ok(s) = std::str::from_utf8(&b)
                && let Ok(score) = v4_score(s)
            {
                assert!((0.0..=10.0).contains(&score), "{s}: {score}");
            }
        }
    }

    #[test]
    fn bad_vectors_say_why() {
        for (v, why) in [
            ("CVSS:3.1/AV:N", "CVSS:4.0"),
            ("CVSS:4.0/AV:N/AC:L", "missing"),
            (
                "CVSS:4.0/AV:Q/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N",
                "AV",
            ),
            (
                "CVSS:4.0/AV:N/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N",
                "twice",
            ),
            (
                "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N/ZZ:1",
                "unknown",
            ),
        ] {
            let e = v4_score(v).unwrap_err();
            assert!(e.why.contains(why), "{v}: {}", e.why);
        }
    }
}
