//! OSV records from feeds: parsing never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(a) = stella_advisory::osv::parse_record(data, "fuzz") {
        for af in &a.affected {
            for r in &af.ranges {
                let _ = r.to_osv();
            }
        }
    }
});
