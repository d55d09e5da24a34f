//! VEX documents (OpenVEX, CycloneDX VEX, CSAF VEX) on arbitrary bytes: never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(statements) = stella_vex::read(data, "fuzz.json") {
        for s in &statements {
            let _ = s.status.as_str();
            for p in &s.products {
                let _ = stella_vex::product_matches(p, p);
            }
        }
    }
});
