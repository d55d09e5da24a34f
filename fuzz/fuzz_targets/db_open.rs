//! A downloaded or damaged DB file: opening and querying never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(db) = stella_advisory::Db::from_bytes(data.to_vec()) else {
        return;
    };
    let _ = db.verify();
    let _ = db.package("alpine:3.10", "openssl");
    let _ = db.vulnerability("CVE-2019-1547");
    if let Ok(all) = db.all_packages() {
        for (_, _, entries) in all.iter().take(50) {
            for e in entries {
                let _ = db.vulnerability_list(e.vulnerabilities);
                let _ = db.feed_name(e.feed);
            }
        }
    }
    let _ = db.all_vulnerabilities();
});
