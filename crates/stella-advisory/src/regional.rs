//! Regional vulnerability catalogues: ENISA's EUVD (API JSON), Japan's JVN (MyJVN's JVNRSS),
//! China's CNNVD and CNVD (their XML exports) and Russia's FSTEC BDU (`vulxml.xml`).
//!
//! They catalogue vulnerabilities by vendor and product name, not by package, so they bring no
//! package statements: each record joins the CVEs it names, adding its identifier (kept as an
//! alias, so a finding shows `EUVD-2026-2422`, `JVNDB-2018-000024`, `BDU:2024-04914`), its CVSS
//! vectors and its rating. A record naming several CVEs contributes to each and never joins
//! them (a JVNDB entry often covers a product's several flaws).
//!
//! Traps: EUVD writes dates as `Mar 30, 2026, 3:13:59 PM` and its aliases as one
//! newline-separated string; JVN's version 2 vectors carry no `CVSS:` prefix, nor do BDU's
//! version 3 ones (BDU scores CVSS 3.0), and BDU writes decimal commas (`8,1`) and dates as
//! `DD.MM.YYYY`; CNVD spells its root `vulnerabitys` and its rating `serverity`; CNNVD rates
//! 超危/高危/中危/低危, CNVD 高/中/低, BDU in Russian words.

use std::path::Path;

use quick_xml::events::Event;
use serde::Deserialize;

use crate::Error;
use crate::model::{Advisory, Problem, Severity, Source};

/// Identifier prefixes of the catalogues (a record of one names the CVEs it covers; see
/// [`crate::merge`]).
pub const PREFIXES: &[&str] = &["EUVD-", "JVNDB-", "CNNVD-", "CNVD-", "BDU:"];

/// Whether `id` is a regional catalogue's identifier.
pub fn is_catalogue(id: &str) -> bool {
    PREFIXES.iter().any(|p| id.starts_with(p))
}

fn bad(path: &Path, why: impl Into<String>) -> Error {
    Error::Format {
        path: path.display().to_string(),
        why: why.into(),
    }
}

fn first_line(s: &str) -> Option<String> {
    let l = s.lines().map(str::trim).find(|l| !l.is_empty())?;
    Some(l.to_string())
}

fn advisory(id: &str, feed: &str) -> Advisory {
    Advisory {
        id: id.to_string(),
        feed: feed.to_string(),
        source: Source::Nvd,
        ..Advisory::default()
    }
}

/// A CVSS vector as the catalogue wrote it, with its `CVSS:3.x/` prefix restored where the
/// catalogue leaves it out; `None` for an empty one.
fn vector(version: &str, v: &str, source: &str) -> Option<Severity> {
    let v = v.trim();
    if v.is_empty() {
        return None;
    }
    let (kind, value) = if v.starts_with("CVSS:4") || version.starts_with('4') {
        let value = if v.starts_with("CVSS:") {
            v.to_string()
        } else {
            format!("CVSS:4.0/{v}")
        };
        ("CVSS_V4", value)
    } else if v.starts_with("CVSS:3") {
        ("CVSS_V3", v.to_string())
    } else if version.starts_with('3') {
        let minor = if version.starts_with("3.1") {
            "3.1"
        } else {
            "3.0"
        };
        ("CVSS_V3", format!("CVSS:{minor}/{v}"))
    } else {
        ("CVSS_V2", v.to_string())
    };
    Some(Severity {
        kind: kind.into(),
        value,
        source: source.into(),
    })
}

fn named(level: Option<&str>, source: &str) -> Option<Severity> {
    level.map(|l| Severity {
        kind: source.into(),
        value: l.into(),
        source: source.into(),
    })
}

fn cves(text: impl IntoIterator<Item = String>) -> Vec<String> {
    let mut out: Vec<String> = text
        .into_iter()
        .map(|c| c.trim().to_ascii_uppercase())
        .filter(|c| c.starts_with("CVE-") && c.len() > 8)
        .collect();
    out.sort();
    out.dedup();
    out
}

// --------------------------------------------------------------------------------------- EUVD

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct EuvdRecord {
    id: String,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    date_published: Option<String>,
    #[serde(default)]
    date_updated: Option<String>,
    #[serde(default)]
    base_score_version: Option<serde_json::Value>,
    #[serde(default)]
    base_score_vector: Option<String>,
    #[serde(default)]
    aliases: Option<String>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum EuvdDoc {
    Page { items: Vec<EuvdRecord> },
    Many(Vec<EuvdRecord>),
    One(Box<EuvdRecord>),
}

/// `Mar 30, 2026, 3:13:59 PM` (EUVD's API) as RFC 3339 (UTC); other text as written.
fn euvd_date(s: &str) -> String {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let parse = || -> Option<String> {
        let t = s.replace(',', "");
        let mut w = t.split_whitespace();
        let name = w.next()?;
        let mon = MONTHS.iter().position(|m| *m == name)? + 1;
        let day: u32 = w.next()?.parse().ok()?;
        let year: u32 = w.next()?.parse().ok()?;
        let mut hms = w.next()?.split(':').map(|x| x.parse::<u32>().ok());
        let (mut h, m, sec) = (hms.next()??, hms.next()??, hms.next()??);
        match w.next() {
            Some("PM") if h < 12 => h += 12,
            Some("AM") if h == 12 => h = 0,
            _ => {}
        }
        (h < 24 && m < 60 && sec < 61 && (1..=31).contains(&day))
            .then(|| format!("{year:04}-{mon:02}-{day:02}T{h:02}:{m:02}:{sec:02}Z"))
    };
    parse().unwrap_or_else(|| s.to_string())
}

/// Reads EUVD API JSON: one record, an array, or a search page (`{"items": […]}`).
pub fn read_euvd(
    path: &Path,
    out: &mut Vec<Advisory>,
    problems: &mut Vec<Problem>,
) -> Result<(), Error> {
    let bytes = fs_err::read(path)?;
    let doc: EuvdDoc =
        serde_json::from_slice(&bytes).map_err(|e| bad(path, format!("not EUVD API JSON: {e}")))?;
    let records = match doc {
        EuvdDoc::Page { items } | EuvdDoc::Many(items) => items,
        EuvdDoc::One(r) => vec![*r],
    };
    for r in records {
        if !r.id.starts_with("EUVD-") {
            problems.push(Problem {
                file: path.display().to_string(),
                message: format!("`{}` is not an EUVD identifier (skipped)", r.id),
            });
            continue;
        }
        let mut a = advisory(&r.id, "euvd");
        a.summary = r.description.as_deref().and_then(first_line);
        a.published = r.date_published.as_deref().map(euvd_date);
        a.modified = r.date_updated.as_deref().map(euvd_date);
        let version = match &r.base_score_version {
            Some(serde_json::Value::String(s)) => s.clone(),
            Some(v) => v.to_string(),
            None => String::new(),
        };
        a.severities.extend(
            r.base_score_vector
                .as_deref()
                .and_then(|v| vector(&version, v, "euvd")),
        );
        let aliases: Vec<String> = r
            .aliases
            .as_deref()
            .unwrap_or("")
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(str::to_string)
            .collect();
        a.aliases.extend(cves(aliases));
        out.push(a);
    }
    Ok(())
}

// ------------------------------------------------------------------------- XML, record by record

/// One element of a record: its name (prefix kept, `sec:cvss`), attributes and text, children.
#[derive(Debug, Default)]
struct Node {
    name: String,
    attrs: Vec<(String, String)>,
    text: String,
    children: Vec<Node>,
}

impl Node {
    fn attr(&self, k: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.as_str())
    }

    fn child(&self, name: &str) -> Option<&Node> {
        self.children.iter().find(|c| c.name == name)
    }

    fn text_of(&self, name: &str) -> Option<&str> {
        self.child(name)
            .map(|c| c.text.trim())
            .filter(|t| !t.is_empty())
    }

    /// Every descendant named `name`.
    fn all<'a>(&'a self, name: &str, out: &mut Vec<&'a Node>) {
        for c in &self.children {
            if c.name == name {
                out.push(c);
            }
            c.all(name, out);
        }
    }
}

/// Streams `path`'s elements named `record` (at any depth) as trees, one at a time, so a
/// catalogue of hundreds of megabytes (BDU's) is never held whole. Names are compared without
/// a namespace prefix for the record (`item`), kept as written inside it (`sec:cvss`).
fn records(path: &Path, record: &str, mut each: impl FnMut(Node)) -> Result<(), Error> {
    let bytes = fs_err::read(path)?;
    if std::str::from_utf8(&bytes).is_err() {
        return Err(bad(
            path,
            "not UTF-8 (older CNNVD/CNVD exports are GB18030): convert it first, e.g. `iconv -f GB18030 -t UTF-8`",
        ));
    }
    let mut r = quick_xml::Reader::from_reader(&bytes[..]);
    r.config_mut().trim_text(false);
    let mut stack: Vec<Node> = Vec::new();
    let mut buf = Vec::new();
    let local = |n: &str| n.rsplit(':').next().unwrap_or(n).to_string();
    let node_of = |e: &quick_xml::events::BytesStart<'_>| -> Node {
        let name = String::from_utf8_lossy(e.name().as_ref()).into_owned();
        let attrs = e
            .attributes()
            .flatten()
            .map(|a| {
                (
                    String::from_utf8_lossy(a.key.as_ref()).into_owned(),
                    a.normalized_value(quick_xml::XmlVersion::Implicit1_0)
                        .map(|v| v.into_owned())
                        .unwrap_or_default(),
                )
            })
            .collect();
        Node {
            name,
            attrs,
            ..Node::default()
        }
    };
    loop {
        let ev = r.read_event_into(&mut buf).map_err(|e| {
            bad(
                path,
                format!("malformed XML at byte {}: {e}", r.error_position()),
            )
        })?;
        match ev {
            Event::Start(e) => {
                let n = node_of(&e);
                if !stack.is_empty() || local(&n.name) == record {
                    stack.push(n);
                }
            }
            Event::Empty(e) => {
                let n = node_of(&e);
                if let Some(top) = stack.last_mut() {
                    top.children.push(n);
                } else if local(&n.name) == record {
                    each(n);
                }
            }
            Event::Text(t) => {
                if let Some(top) = stack.last_mut() {
                    let raw = String::from_utf8_lossy(&t);
                    match quick_xml::escape::unescape(&raw) {
                        Ok(s) => top.text.push_str(&s),
                        Err(_) => top.text.push_str(&raw),
                    }
                }
            }
            Event::CData(t) => {
                if let Some(top) = stack.last_mut() {
                    top.text.push_str(&String::from_utf8_lossy(&t));
                }
            }
            Event::GeneralRef(g) => {
                if let Some(top) = stack.last_mut() {
                    let name = String::from_utf8_lossy(&g).into_owned();
                    let s = match name.as_str() {
                        "lt" => "<".to_string(),
                        "gt" => ">".to_string(),
                        "amp" => "&".to_string(),
                        "quot" => "\"".to_string(),
                        "apos" => "'".to_string(),
                        n => n
                            .strip_prefix("#x")
                            .and_then(|h| u32::from_str_radix(h, 16).ok())
                            .or_else(|| n.strip_prefix('#').and_then(|d| d.parse().ok()))
                            .and_then(char::from_u32)
                            .map(String::from)
                            .unwrap_or_default(),
                    };
                    top.text.push_str(&s);
                }
            }
            Event::End(_) => {
                if let Some(n) = stack.pop() {
                    match stack.last_mut() {
                        Some(parent) => parent.children.push(n),
                        None => each(n),
                    }
                }
            }
            Event::Eof => break,
            _ => {}
        }
        buf.clear();
    }
    if !stack.is_empty() {
        return Err(bad(
            path,
            "the XML ends inside a record (a truncated file?)",
        ));
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------- JVN

/// Reads a MyJVN `getVulnOverviewList` answer (JVNRSS): one advisory per `item`.
pub fn read_jvn(
    path: &Path,
    out: &mut Vec<Advisory>,
    problems: &mut Vec<Problem>,
) -> Result<(), Error> {
    records(path, "item", |n| {
        let Some(id) = n
            .text_of("sec:identifier")
            .filter(|i| i.starts_with("JVNDB-"))
        else {
            problems.push(Problem {
                file: path.display().to_string(),
                message: "a JVNRSS item without a JVNDB identifier (skipped)".into(),
            });
            return;
        };
        let mut a = advisory(id, "jvn");
        a.summary = n.text_of("title").map(str::to_string);
        a.published = n.text_of("dcterms:issued").map(str::to_string);
        a.modified = n.text_of("dcterms:modified").map(str::to_string);
        let mut refs = Vec::new();
        n.all("sec:references", &mut refs);
        a.aliases.extend(cves(
            refs.iter()
                .filter(|r| r.attr("source").is_some_and(|s| s == "CVE" || s == "NVD"))
                .filter_map(|r| r.attr("id").map(str::to_string)),
        ));
        let mut cvss = Vec::new();
        n.all("sec:cvss", &mut cvss);
        for c in cvss {
            a.severities.extend(vector(
                c.attr("version").unwrap_or(""),
                c.attr("vector").unwrap_or(""),
                "jvn",
            ));
        }
        out.push(a);
    })
}

// -------------------------------------------------------------------------------------- CNNVD

fn cn_level(s: &str) -> Option<&'static str> {
    match s.trim() {
        "超危" => Some("critical"),
        "高危" | "高" => Some("high"),
        "中危" | "中" => Some("medium"),
        "低危" | "低" => Some("low"),
        _ => None,
    }
}

/// Reads CNNVD's XML export: one advisory per `entry`.
pub fn read_cnnvd(
    path: &Path,
    out: &mut Vec<Advisory>,
    problems: &mut Vec<Problem>,
) -> Result<(), Error> {
    records(path, "entry", |n| {
        let Some(id) = n.text_of("vuln-id").filter(|i| i.starts_with("CNNVD-")) else {
            problems.push(Problem {
                file: path.display().to_string(),
                message: "a CNNVD entry without a CNNVD identifier (skipped)".into(),
            });
            return;
        };
        let mut a = advisory(id, "cnnvd");
        a.summary = n.text_of("name").map(str::to_string);
        a.published = n.text_of("published").map(str::to_string);
        a.modified = n.text_of("modified").map(str::to_string);
        let mut ids = Vec::new();
        n.all("cve-id", &mut ids);
        a.aliases.extend(cves(ids.iter().map(|c| c.text.clone())));
        a.severities
            .extend(named(n.text_of("severity").and_then(cn_level), "cnnvd"));
        out.push(a);
    })
}

// --------------------------------------------------------------------------------------- CNVD

/// Reads CNVD's XML export: one advisory per `vulnerability`.
pub fn read_cnvd(
    path: &Path,
    out: &mut Vec<Advisory>,
    problems: &mut Vec<Problem>,
) -> Result<(), Error> {
    records(path, "vulnerability", |n| {
        let Some(id) = n.text_of("number").filter(|i| i.starts_with("CNVD-")) else {
            problems.push(Problem {
                file: path.display().to_string(),
                message: "a CNVD vulnerability without a CNVD number (skipped)".into(),
            });
            return;
        };
        let mut a = advisory(id, "cnvd");
        a.summary = n.text_of("title").map(str::to_string);
        a.published = n.text_of("openTime").map(str::to_string);
        let mut ids = Vec::new();
        n.all("cveNumber", &mut ids);
        a.aliases.extend(cves(ids.iter().map(|c| c.text.clone())));
        // CNVD's own spelling, and the one it may be corrected to
        let level = n.text_of("serverity").or_else(|| n.text_of("severity"));
        a.severities.extend(named(level.and_then(cn_level), "cnvd"));
        out.push(a);
    })
}

// ---------------------------------------------------------------------------------------- BDU

fn bdu_level(s: &str) -> Option<&'static str> {
    let l = s.trim().to_lowercase();
    if l.starts_with("критич") {
        Some("critical")
    } else if l.starts_with("высок") {
        Some("high")
    } else if l.starts_with("средн") {
        Some("medium")
    } else if l.starts_with("низк") {
        Some("low")
    } else {
        None
    }
}

/// `01.07.2024` → `2024-07-01`; other text as written.
fn bdu_date(s: &str) -> String {
    let p: Vec<&str> = s.trim().split('.').collect();
    match p.as_slice() {
        [d, m, y] if d.len() == 2 && m.len() == 2 && y.len() == 4 => format!("{y}-{m}-{d}"),
        _ => s.trim().to_string(),
    }
}

/// Reads FSTEC's `vulxml.xml` (BDU): one advisory per `vul`.
pub fn read_bdu(
    path: &Path,
    out: &mut Vec<Advisory>,
    problems: &mut Vec<Problem>,
) -> Result<(), Error> {
    records(path, "vul", |n| {
        let Some(id) = n.text_of("identifier").filter(|i| i.starts_with("BDU:")) else {
            problems.push(Problem {
                file: path.display().to_string(),
                message: "a BDU record without a BDU identifier (skipped)".into(),
            });
            return;
        };
        let mut a = advisory(id, "bdu");
        a.summary = n.text_of("name").map(str::to_string);
        a.published = n.text_of("publication_date").map(bdu_date);
        a.modified = n.text_of("last_upd_date").map(bdu_date);
        if let Some(ids) = n.child("identifiers") {
            a.aliases.extend(cves(
                ids.children
                    .iter()
                    .filter(|i| i.attr("type").is_none_or(|t| t == "CVE"))
                    .map(|i| i.text.clone()),
            ));
        }
        for (el, version) in [("cvss", "2.0"), ("cvss3", "3.0"), ("cvss4", "4.0")] {
            if let Some(v) = n.child(el).and_then(|c| c.child("vector")) {
                // a placeholder vector scored 0 says nothing
                if v.attr("score").is_some_and(|s| s.trim() == "0") && v.text.trim().is_empty() {
                    continue;
                }
                a.severities.extend(vector(version, &v.text, "bdu"));
            }
        }
        a.severities
            .extend(named(n.text_of("severity").and_then(bdu_level), "bdu"));
        out.push(a);
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> std::path::PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("testdata/regional")
            .join(name)
    }

    type Reader = fn(&Path, &mut Vec<Advisory>, &mut Vec<Problem>) -> Result<(), Error>;

    fn read(f: Reader, name: &str) -> (Vec<Advisory>, Vec<Problem>) {
        let (mut out, mut problems) = (Vec::new(), Vec::new());
        f(&fixture(name), &mut out, &mut problems).unwrap();
        (out, problems)
    }

    #[test]
    fn euvd_records_bring_their_cve_their_vector_and_their_dates() {
        let (a, p) = read(read_euvd, "EUVD-2026-2422.json");
        assert!(p.is_empty());
        let a = &a[0];
        assert_eq!(a.id, "EUVD-2026-2422");
        assert_eq!(a.aliases.iter().collect::<Vec<_>>(), ["CVE-2026-22036"]);
        assert_eq!(a.severities[0].kind, "CVSS_V3");
        assert_eq!(
            a.severities[0].value,
            "CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:N/I:N/A:H"
        );
        assert_eq!(a.published.as_deref(), Some("2026-01-14T19:07:13Z"));
        assert_eq!(a.modified.as_deref(), Some("2026-01-22T20:17:20Z"));
        assert!(
            a.summary
                .as_deref()
                .unwrap()
                .starts_with("Undici is an HTTP/1.1 client")
        );
        assert!(a.affected.is_empty());
        assert_eq!(
            euvd_date("Aug 4, 2026, 12:05:01 AM"),
            "2026-08-04T00:05:01Z"
        );
        assert_eq!(euvd_date("soon"), "soon");
    }

    #[test]
    fn jvn_items_keep_every_cve_and_both_vectors() {
        let (a, p) = read(read_jvn, "jvn-overview-ja.xml");
        assert!(p.is_empty(), "{p:?}");
        assert_eq!(a.len(), 2);
        assert_eq!(a[0].id, "JVNDB-2018-000024");
        assert_eq!(a[0].aliases.len(), 3);
        assert_eq!(
            a[0].summary.as_deref(),
            Some("CG-WGR1200 における複数の脆弱性")
        );
        let kinds: Vec<(&str, &str)> = a[0]
            .severities
            .iter()
            .map(|s| (s.kind.as_str(), s.value.as_str()))
            .collect();
        assert_eq!(
            kinds,
            [
                ("CVSS_V3", "CVSS:3.0/AV:A/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"),
                ("CVSS_V2", "AV:A/AC:L/Au:N/C:P/I:P/A:P")
            ]
        );
        // without namespace declarations, as one client's recorded answer has it
        let (a, _) = read(read_jvn, "jvn-overview-en.xml");
        assert_eq!(a[0].id, "JVNDB-2020-000049");
        assert_eq!(a[0].aliases.iter().collect::<Vec<_>>(), ["CVE-2020-5610"]);
    }

    #[test]
    fn cnnvd_and_cnvd_rate_in_chinese_and_name_their_cves() {
        let (a, p) = read(read_cnnvd, "cnnvd-2017-excerpt.xml");
        assert!(p.is_empty());
        assert_eq!(a.len(), 2);
        assert_eq!(a[0].id, "CNNVD-201701-225");
        assert_eq!(a[0].aliases.iter().collect::<Vec<_>>(), ["CVE-2016-7056"]);
        assert_eq!(a[0].severities[0].value, "medium");
        assert!(a[1].aliases.is_empty());
        assert_eq!(a[1].severities[0].value, "high");
        let (a, p) = read(read_cnvd, "cnvd-2020-excerpt.xml");
        assert!(p.is_empty());
        assert_eq!(a[0].id, "CNVD-2020-60468");
        assert_eq!(a[0].aliases.iter().collect::<Vec<_>>(), ["CVE-2019-13467"]);
        assert_eq!(a[0].severities[0].value, "medium");
        assert_eq!(a[0].published.as_deref(), Some("2020-11-04"));
    }

    #[test]
    fn bdu_records_restore_the_vector_prefixes_and_read_russian_ratings() {
        let (a, p) = read(read_bdu, "bdu-vulxml-layout.xml");
        assert!(p.is_empty());
        assert_eq!(a[0].id, "BDU:2024-04914");
        assert_eq!(a[0].aliases.iter().collect::<Vec<_>>(), ["CVE-2024-6387"]);
        let v: Vec<&str> = a[0].severities.iter().map(|s| s.value.as_str()).collect();
        assert_eq!(
            v,
            [
                "AV:N/AC:L/Au:N/C:C/I:C/A:C",
                "CVSS:3.0/AV:N/AC:H/PR:N/UI:N/S:U/C:H/I:H/A:H",
                "high"
            ]
        );
        assert_eq!(a[0].published.as_deref(), Some("2024-07-01"));
        assert_eq!(
            a[1].severities.len(),
            1,
            "the empty cvss4 placeholder says nothing"
        );
    }

    #[test]
    fn broken_catalogues_are_refused_with_where_and_what() {
        let dir = tempfile::tempdir().unwrap();
        let cut = dir.path().join("cut.xml");
        let text = std::fs::read_to_string(fixture("cnnvd-2017-excerpt.xml")).unwrap();
        std::fs::write(&cut, &text[..text.len() / 2]).unwrap();
        let err = read_cnnvd(&cut, &mut Vec::new(), &mut Vec::new()).unwrap_err();
        assert!(err.to_string().contains("cut.xml"), "{err}");
        let gbk = dir.path().join("gbk.xml");
        std::fs::write(&gbk, [0x3c, 0x61, 0x3e, 0xb8, 0xdf, 0x3c, 0x2f, 0x61, 0x3e]).unwrap();
        let err = read_cnvd(&gbk, &mut Vec::new(), &mut Vec::new()).unwrap_err();
        assert!(err.to_string().contains("GB18030"), "{err}");
        let json = dir.path().join("e.json");
        std::fs::write(&json, "{\"nope\": 1}").unwrap();
        assert!(read_euvd(&json, &mut Vec::new(), &mut Vec::new()).is_err());
    }
}
