//! Cron expressions in UTC: `minute hour day-of-month month day-of-week` with `*`, lists,
//! ranges, steps and names (`JAN`, `MON`), and the macros `@hourly`, `@daily`/`@midnight`,
//! `@weekly`, `@monthly`, `@yearly`/`@annually`.
//!
//! Semantics are Vixie cron's (the crontab(5) manual): when both day fields are restricted
//! (neither starts with `*`), a day matches if *either* matches; day-of-week 0 and 7 are
//! Sunday. Times are seconds since the Unix epoch; a schedule fires at second 0 of a minute.

use std::fmt;

/// Why an expression was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cron expression `{expr}`: {why}")]
pub struct Error {
    /// The expression.
    pub expr: String,
    /// What is wrong.
    pub why: String,
}

/// A parsed schedule.
#[derive(Clone, PartialEq, Eq)]
pub struct Schedule {
    text: String,
    minutes: u64,
    hours: u32,
    /// Bits 1..=31.
    dom: u32,
    /// Bits 1..=12.
    months: u16,
    /// Bits 0..=6 (Sunday = 0).
    dow: u8,
    dom_star: bool,
    dow_star: bool,
}

impl fmt::Debug for Schedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Schedule({:?})", self.text)
    }
}

impl fmt::Display for Schedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

const MONTHS: [&str; 12] = [
    "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
];
const DAYS: [&str; 7] = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];

/// Parses one field into a bit set over `lo..=hi`; `names` map to `lo + index`.
fn field(expr: &str, what: &str, s: &str, lo: u32, hi: u32, names: &[&str]) -> Result<u64, Error> {
    let err = |why: String| Error {
        expr: expr.to_string(),
        why: format!("{what} field `{s}`: {why}"),
    };
    let value = |t: &str| -> Result<u32, Error> {
        if let Some(i) = names.iter().position(|n| n.eq_ignore_ascii_case(t)) {
            return Ok(lo + i as u32);
        }
        let v: u32 = t.parse().map_err(|_| {
            err(format!(
                "`{t}` is not a number{}",
                if names.is_empty() { "" } else { " or a name" }
            ))
        })?;
        if v < lo || v > hi {
            return Err(err(format!("{v} is outside {lo}-{hi}")));
        }
        Ok(v)
    };
    let mut bits = 0u64;
    for part in s.split(',') {
        if part.is_empty() {
            return Err(err("an empty list item".into()));
        }
        let (range, step) = match part.split_once('/') {
            Some((r, st)) => {
                let st: u32 = st
                    .parse()
                    .map_err(|_| err(format!("step `{st}` is not a number")))?;
                if st == 0 {
                    return Err(err("a step of 0".into()));
                }
                (r, st)
            }
            None => (part, 1),
        };
        let (a, b) = if range == "*" {
            (lo, hi)
        } else if let Some((a, b)) = range.split_once('-') {
            let (a, b) = (value(a)?, value(b)?);
            if a > b {
                return Err(err(format!("the range {a}-{b} runs backwards")));
            }
            (a, b)
        } else {
            let a = value(range)?;
            // `5/15` means from 5 to the end in steps of 15 (as Vixie cron reads it)
            (a, if part.contains('/') { hi } else { a })
        };
        let mut v = a;
        while v <= b {
            bits |= 1 << v;
            v += step;
        }
    }
    Ok(bits)
}

impl Schedule {
    /// Parses an expression.
    pub fn parse(expr: &str) -> Result<Schedule, Error> {
        let t = expr.trim();
        let expanded = match t.to_ascii_lowercase().as_str() {
            "@hourly" => "0 * * * *",
            "@daily" | "@midnight" => "0 0 * * *",
            "@weekly" => "0 0 * * 0",
            "@monthly" => "0 0 1 * *",
            "@yearly" | "@annually" => "0 0 1 1 *",
            x if x.starts_with('@') => {
                return Err(Error {
                    expr: expr.to_string(),
                    why: "unknown macro (use @hourly, @daily, @weekly, @monthly or @yearly)".into(),
                });
            }
            _ => t,
        };
        let f: Vec<&str> = expanded.split_whitespace().collect();
        if f.len() != 5 {
            return Err(Error {
                expr: expr.to_string(),
                why: format!(
                    "{} fields; cron needs five: minute hour day-of-month month day-of-week",
                    f.len()
                ),
            });
        }
        let minutes = field(expr, "minute", f[0], 0, 59, &[])?;
        let hours = field(expr, "hour", f[1], 0, 23, &[])? as u32;
        let dom = field(expr, "day-of-month", f[2], 1, 31, &[])? as u32;
        let months = field(expr, "month", f[3], 1, 12, &MONTHS)? as u16;
        let mut dow = field(expr, "day-of-week", f[4], 0, 7, &DAYS)?;
        if dow & (1 << 7) != 0 {
            dow = (dow | 1) & 0x7f;
        }
        Ok(Schedule {
            text: t.to_string(),
            minutes,
            hours,
            dom,
            months,
            dow: dow as u8,
            dom_star: f[2].starts_with('*'),
            dow_star: f[4].starts_with('*'),
        })
    }

    fn day_matches(&self, days: i64) -> bool {
        let (_, m, d) = civil(days);
        if self.months & (1 << m) == 0 {
            return false;
        }
        let wd = (days + 4).rem_euclid(7) as u32; // 1970-01-01 was a Thursday
        let dom_ok = self.dom & (1 << d) != 0;
        let dow_ok = self.dow & (1 << wd) != 0;
        match (self.dom_star, self.dow_star) {
            (false, false) => dom_ok || dow_ok,
            (true, false) => dow_ok,
            (false, true) => dom_ok,
            (true, true) => true,
        }
    }

    /// Whether the schedule fires at `t` (its minute; seconds ignored).
    pub fn matches(&self, t: i64) -> bool {
        let days = t.div_euclid(86_400);
        let sod = t.rem_euclid(86_400);
        self.day_matches(days)
            && self.hours & (1 << (sod / 3600)) != 0
            && self.minutes & (1 << ((sod % 3600) / 60)) != 0
    }

    /// The latest firing time at or before `t`, if any within the last 28 years (a
    /// schedule can name a day that comes rarely, such as 29 February on a Monday).
    pub fn prev(&self, t: i64) -> Option<i64> {
        let day = t.div_euclid(86_400);
        let sod = t.rem_euclid(86_400);
        for back in 0..(366 * 28) {
            let d = day - back;
            if !self.day_matches(d) {
                continue;
            }
            let limit = if back == 0 { sod / 60 } else { 24 * 60 - 1 };
            for m in (0..=limit).rev() {
                if self.hours & (1 << (m / 60)) != 0 && self.minutes & (1 << (m % 60)) != 0 {
                    return Some(d * 86_400 + m * 60);
                }
            }
        }
        None
    }

    /// The first firing time strictly after `t`, if any within the next 28 years.
    pub fn next(&self, t: i64) -> Option<i64> {
        let day = t.div_euclid(86_400);
        let from = t.rem_euclid(86_400) / 60 + 1;
        for fwd in 0..(366 * 28) {
            let d = day + fwd;
            if !self.day_matches(d) {
                continue;
            }
            let start = if fwd == 0 { from } else { 0 };
            for m in start..24 * 60 {
                if self.hours & (1 << (m / 60)) != 0 && self.minutes & (1 << (m % 60)) != 0 {
                    return Some(d * 86_400 + m * 60);
                }
            }
        }
        None
    }
}

pub use stella_sbom::civil;

#[cfg(test)]
mod tests;
