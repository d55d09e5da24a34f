//! Debian security tracker list files (`data/DSA/list`, `DLA/list`, `DTSA/list`):
//! `[date] DSA-N-M srcpkg - …`, `{CVE…}`, then `[release] - srcpkg version` lines.
//! Packages are *source* packages; `<not-affected>` is recorded as such, and `<unfixed>`,
//! `<end-of-life>` and friends state no fixed version (they are skipped).

use std::path::Path;

use crate::Error;
use crate::model::{Advisory, Affected, Problem, Range, Source, Status};

/// Debian release number of a codename.
pub fn release_of(codename: &str) -> Option<&'static str> {
    // `unstable` is no codename the tracker writes; `sid` is
    if codename.trim().eq_ignore_ascii_case("unstable") {
        return None;
    }
    stella_distro::release_of_codename("debian", codename)
}

/// Reads one list file.
pub fn read_list(
    path: &Path,
    out: &mut Vec<Advisory>,
    problems: &mut Vec<Problem>,
) -> Result<(), Error> {
    let text = fs_err::read_to_string(path)?;
    let feed = format!(
        "debian-{}",
        path.parent()
            .and_then(|p| p.file_name())
            .map(|n| n.to_string_lossy().to_lowercase())
            .unwrap_or_default()
    );
    let mut current: Option<Advisory> = None;
    for (i, line) in text.lines().enumerate() {
        let at = || format!("{}:{}", path.display(), i + 1);
        if let Some(rest) = line.strip_prefix('[') {
            // `[29 Mar 2023] DSA-5380-1 xorg-server - security update`
            if let Some(a) = current.take() {
                out.push(a);
            }
            let Some((date, head)) = rest.split_once(']') else {
                problems.push(Problem {
                    file: at(),
                    message: "unterminated date".into(),
                });
                continue;
            };
            let mut words = head.split_whitespace();
            let Some(id) = words.next() else {
                problems.push(Problem {
                    file: at(),
                    message: "no advisory id".into(),
                });
                continue;
            };
            let summary = head.split_once(" - ").map(|(_, s)| s.trim().to_string());
            current = Some(Advisory {
                id: id.to_string(),
                feed: feed.clone(),
                source: Source::Distro,
                published: Some(iso_date(date.trim())),
                summary,
                ..Advisory::default()
            });
            continue;
        }
        let t = line.trim();
        let Some(adv) = current.as_mut() else {
            continue;
        };
        if let Some(cves) = t.strip_prefix('{').and_then(|x| x.strip_suffix('}')) {
            adv.aliases
                .extend(cves.split_whitespace().map(str::to_string));
        } else if let Some(rest) = t.strip_prefix('[') {
            // `[bullseye] - xorg-server 2:1.20.11-1+deb11u6`
            let Some((codename, rest)) = rest.split_once(']') else {
                problems.push(Problem {
                    file: at(),
                    message: format!("malformed release line `{t}`"),
                });
                continue;
            };
            let mut parts = rest.trim().trim_start_matches('-').split_whitespace();
            let (Some(pkg), Some(version)) = (parts.next(), parts.next()) else {
                problems.push(Problem {
                    file: at(),
                    message: format!("malformed release line `{t}`"),
                });
                continue;
            };
            let Some(release) = release_of(codename.trim()) else {
                problems.push(Problem {
                    file: at(),
                    message: format!("unknown Debian release `{}`", codename.trim()),
                });
                continue;
            };
            let namespace = format!("debian:{release}");
            let (status, ranges) = match version {
                "<not-affected>" => (Status::NotAffected, Vec::new()),
                v if v.starts_with('<') => continue,
                v => {
                    if stella_version::dpkg::DpkgVersion::parse(v).is_err() {
                        problems.push(Problem {
                            file: at(),
                            message: format!("invalid Debian version `{v}`"),
                        });
                        continue;
                    }
                    (Status::Affected, vec![Range::fixed_in(v)])
                }
            };
            adv.affected.push(Affected {
                namespace,
                package: pkg.to_string(),
                ranges,
                versions: Vec::new(),
                status,
                arches: Vec::new(),
                severity: None,
            });
        }
    }
    if let Some(a) = current.take() {
        out.push(a);
    }
    Ok(())
}

/// `29 Jun 2003` → `2003-06-29`, so dates from every feed order as strings; anything else is
/// kept as written.
pub(crate) fn iso_date(d: &str) -> String {
    const MONTHS: [&str; 12] = [
        "january",
        "february",
        "march",
        "april",
        "may",
        "june",
        "july",
        "august",
        "september",
        "october",
        "november",
        "december",
    ];
    let words: Vec<&str> = d
        .split(|c: char| c.is_whitespace() || c == ',')
        .filter(|w| !w.is_empty())
        .collect();
    // `29 Jun 2003` (DSA, DLA) or `August 28th, 2005` (DTSA)
    let (day, mon, year) = match words.as_slice() {
        [a, b, y] if a.starts_with(|c: char| c.is_ascii_digit()) => (*a, *b, *y),
        [b, a, y] => (*a, *b, *y),
        _ => return d.to_string(),
    };
    let mon = mon.to_ascii_lowercase();
    // a month is its full name or its first three letters
    let m = MONTHS
        .iter()
        .position(|m| mon.len() >= 3 && (*m == mon || (mon.len() == 3 && m.starts_with(&mon))));
    let day = day.trim_end_matches(|c: char| c.is_ascii_alphabetic());
    if let (Some(m), Ok(dn @ 1..=31), Ok(yn @ 1000..=9999)) =
        (m, day.parse::<u8>(), year.parse::<u16>())
    {
        return format!("{yn:04}-{:02}-{dn:02}", m + 1);
    }
    d.to_string()
}

#[cfg(test)]
mod tests {
    use super::iso_date;

    #[test]
    fn tracker_dates_become_iso() {
        assert_eq!(iso_date("29 Jun 2003"), "2003-06-29");
        assert_eq!(iso_date("06 Jan 2004"), "2004-01-06");
        assert_eq!(iso_date("6 jan 2004"), "2004-01-06");
        assert_eq!(iso_date("32 Jan 2004"), "32 Jan 2004");
        assert_eq!(iso_date("soon"), "soon");
        assert_eq!(iso_date("August 28th, 2005"), "2005-08-28");
        assert_eq!(iso_date("Sept 1st, 2005"), "Sept 1st, 2005");
        assert_eq!(iso_date("May 2nd, 2006"), "2006-05-02");
    }
}
