//! Package URL and CPE parsers: never panic, and canonical forms are fixed points.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(p) = stella_sbom::Purl::parse(s) {
        let canon = p.to_string();
        let again = stella_sbom::Purl::parse(&canon).expect("canonical purl re-parses");
        assert_eq!(again.to_string(), canon);
    }
    if let Ok(c) = stella_sbom::Cpe::parse(s) {
        let canon = c.to_string();
        let again = stella_sbom::Cpe::parse(&canon).expect("canonical CPE re-parses");
        assert_eq!(again, c);
    }
});
