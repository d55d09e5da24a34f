//! CISA Known Exploited Vulnerabilities (JSON catalogue or CSV) and FIRST EPSS (CSV).

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::Error;
use crate::model::Problem;

/// One KEV entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Kev {
    /// When CISA added it (YYYY-MM-DD).
    pub date_added: String,
    /// Remediation due date.
    pub due_date: Option<String>,
    /// Known use in ransomware campaigns.
    pub ransomware: bool,
}

/// One EPSS score.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Epss {
    /// Probability of exploitation in the next 30 days.
    pub score: f32,
    /// Percentile among all scored CVEs.
    pub percentile: f32,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct KevJson {
    #[serde(default)]
    vulnerabilities: Vec<KevJsonEntry>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct KevJsonEntry {
    #[serde(rename = "cveID")]
    cve_id: String,
    date_added: String,
    due_date: Option<String>,
    known_ransomware_campaign_use: Option<String>,
}

/// Reads the KEV catalogue (JSON, or the CSV CISA publishes beside it).
pub fn read_kev(
    path: &Path,
    out: &mut BTreeMap<String, Kev>,
    problems: &mut Vec<Problem>,
) -> Result<(), Error> {
    let text = fs_err::read_to_string(path)?;
    if text.trim_start().starts_with('{') {
        let k: KevJson = serde_json::from_str(&text).map_err(|e| Error::Format {
            path: path.display().to_string(),
            why: e.to_string(),
        })?;
        for e in k.vulnerabilities {
            out.insert(
                e.cve_id.trim().to_string(),
                Kev {
                    date_added: e.date_added,
                    due_date: e.due_date,
                    ransomware: e.known_ransomware_campaign_use.as_deref() == Some("Known"),
                },
            );
        }
        return Ok(());
    }
    let mut lines = csv_records(&text).into_iter();
    let header = lines.next().unwrap_or_default();
    let col = |n: &str| header.iter().position(|h| h == n);
    let (Some(ci), Some(di)) = (col("cveID"), col("dateAdded")) else {
        return Err(Error::Format {
            path: path.display().to_string(),
            why: "no `cveID` / `dateAdded` columns".into(),
        });
    };
    let (due, rw) = (col("dueDate"), col("knownRansomwareCampaignUse"));
    for (n, rec) in lines.enumerate() {
        let (Some(cve), Some(date)) = (rec.get(ci), rec.get(di)) else {
            problems.push(Problem {
                file: format!("{}:{}", path.display(), n + 2),
                message: "short record".into(),
            });
            continue;
        };
        out.insert(
            cve.trim().to_string(),
            Kev {
                date_added: date.clone(),
                due_date: due.and_then(|i| rec.get(i)).cloned(),
                ransomware: rw.and_then(|i| rec.get(i)).is_some_and(|v| v == "Known"),
            },
        );
    }
    Ok(())
}

/// A minimal RFC 4180 reader: quoted fields with `""` escapes and embedded newlines.
fn csv_records(text: &str) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    let mut rec = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if quoted {
            match c {
                '"' if chars.peek() == Some(&'"') => {
                    field.push('"');
                    chars.next();
                }
                '"' => quoted = false,
                c => field.push(c),
            }
            continue;
        }
        match c {
            '"' => quoted = true,
            ',' => rec.push(std::mem::take(&mut field)),
            '\r' => {}
            '\n' => {
                rec.push(std::mem::take(&mut field));
                out.push(std::mem::take(&mut rec));
            }
            c => field.push(c),
        }
    }
    if !field.is_empty() || !rec.is_empty() {
        rec.push(field);
        out.push(rec);
    }
    out
}

/// Reads an EPSS CSV (`#model_version:…,score_date:…` then `cve,epss,percentile`); returns the
/// model line's `score_date`, if any.
pub fn read_epss(
    path: &Path,
    out: &mut BTreeMap<String, Epss>,
    problems: &mut Vec<Problem>,
) -> Result<Option<String>, Error> {
    // FIRST publishes the daily file gzipped (`epss_scores-current.csv.gz`)
    let bytes = fs_err::read(path)?;
    let text = if bytes.starts_with(&[0x1f, 0x8b]) {
        let mut out = String::new();
        std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&bytes[..]), &mut out)
            .map_err(|e| Error::Format {
                path: path.display().to_string(),
                why: format!("not a readable gzip EPSS file: {e}"),
            })?;
        out
    } else {
        String::from_utf8(bytes).map_err(|_| Error::Format {
            path: path.display().to_string(),
            why: "not UTF-8 text: an EPSS CSV (or its .gz) was expected".into(),
        })?
    };
    let mut date = None;
    let mut seen_header = false;
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if let Some(meta) = line.strip_prefix('#') {
            date = meta
                .split(',')
                .find_map(|kv| kv.strip_prefix("score_date:"))
                .map(str::to_string);
            continue;
        }
        if line.is_empty() {
            continue;
        }
        if !seen_header {
            seen_header = true;
            if line.starts_with("cve,") {
                continue;
            }
        }
        let mut f = line.split(',');
        let parsed = (|| {
            let cve = f.next()?.trim();
            let score: f32 = f.next()?.trim().parse().ok()?;
            let percentile: f32 = f.next()?.trim().parse().ok()?;
            ((0.0..=1.0).contains(&score) && (0.0..=1.0).contains(&percentile))
                .then(|| (cve.to_string(), Epss { score, percentile }))
        })();
        match parsed {
            Some((cve, e)) => {
                out.insert(cve, e);
            }
            None => problems.push(Problem {
                file: format!("{}:{}", path.display(), i + 1),
                message: format!("malformed EPSS row `{line}`"),
            }),
        }
    }
    Ok(date)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn epss_is_read_plain_or_gzipped_as_first_publishes_it() {
        let csv = "#model_version:v2023.03.01,score_date:2024-01-02T00:00:00+0000\ncve,epss,percentile\nCVE-2024-0001,0.5,0.9\n";
        let dir = tempfile::tempdir().unwrap();
        let plain = dir.path().join("epss.csv");
        std::fs::write(&plain, csv).unwrap();
        let gz = dir.path().join("epss.csv.gz");
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        std::io::Write::write_all(&mut enc, csv.as_bytes()).unwrap();
        std::fs::write(&gz, enc.finish().unwrap()).unwrap();
        for f in [&plain, &gz] {
            let (mut out, mut problems) = (BTreeMap::new(), Vec::new());
            let date = read_epss(f, &mut out, &mut problems).unwrap();
            assert_eq!(date.as_deref(), Some("2024-01-02T00:00:00+0000"));
            assert_eq!(out["CVE-2024-0001"].score, 0.5);
            assert!(problems.is_empty());
        }
        let bad = dir.path().join("bad.gz");
        std::fs::write(&bad, [0x1f, 0x8b, 0, 1]).unwrap();
        let err = read_epss(&bad, &mut BTreeMap::new(), &mut Vec::new()).unwrap_err();
        assert!(err.to_string().contains("gzip"), "{err}");
    }
}
