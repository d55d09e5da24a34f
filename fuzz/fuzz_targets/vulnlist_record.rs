//! vuln-list distro records (Amazon ALAS, Rocky errata, Ubuntu CVE tracker): parsing never panics.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let p = Path::new("fuzz.json");
    let mut problems = Vec::new();
    for a in [
        stella_advisory::vulnlist::parse_amazon(data, Some("2"), p).ok(),
        stella_advisory::vulnlist::parse_amazon(data, None, p).ok(),
        stella_advisory::vulnlist::parse_ubuntu(data, p, &mut problems).ok(),
        stella_advisory::vulnlist::parse_rocky(data, "8", p).ok(),
    ]
    .into_iter()
    .flatten()
    {
        for af in &a.affected {
            for r in &af.ranges {
                let _ = r.to_osv();
            }
        }
    }
});
