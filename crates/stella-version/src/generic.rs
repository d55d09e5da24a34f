//! A fallback order for ecosystems without a scheme of their own.
//!
//! Runs of digits compare numerically, runs of letters lexically, a number beats letters at
//! the same position, separators do not count, and the longer version wins when one is a
//! prefix of the other. It is `rpmvercmp` without `~`/`^`, which orders most real-world
//! versions sensibly; matches made with it are flagged as approximate by the matcher.

use std::cmp::Ordering;

use crate::Error;

/// Compares two versions with the generic rule.
pub fn compare(a: &str, b: &str) -> Result<Ordering, Error> {
    for v in [a, b] {
        if v.trim().is_empty() {
            return Err(Error::invalid("generic", v, "the version is empty"));
        }
    }
    let strip = |s: &str| s.trim().replace(['~', '^'], ".");
    Ok(crate::rpm::rpmvercmp(
        strip(a).as_bytes(),
        strip(b).as_bytes(),
    ))
}
