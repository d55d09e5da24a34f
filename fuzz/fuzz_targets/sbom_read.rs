//! Every SBOM reader, on arbitrary bytes: never panics; what reads also writes and reads back.
#![no_main]

use libfuzzer_sys::fuzz_target;
use stella_sbom::{Format, OutputFormat, WriteOptions};

fuzz_target!(|data: &[u8]| {
    let hints = [
        None,
        Some(Format::CycloneDxJson),
        Some(Format::CycloneDxXml),
        Some(Format::SpdxJson),
        Some(Format::SpdxTagValue),
        Some(Format::Spdx3JsonLd),
        Some(Format::SyftJson),
        Some(Format::TrivyJson),
    ];
    for h in hints {
        if let Ok(r) = stella_sbom::read(data, h) {
            let opts = WriteOptions {
                timestamp: Some("2026-11-29T00:00:00Z".into()),
                ..WriteOptions::default()
            };
            for f in [
                OutputFormat::CycloneDxJson(6),
                OutputFormat::CycloneDxXml(6),
                OutputFormat::SpdxJson,
                OutputFormat::SpdxTagValue,
            ] {
                let out = stella_sbom::write(&r.sbom, f, &opts);
                let back = stella_sbom::read(&out, None);
                assert!(
                    back.is_ok(),
                    "{f:?} output does not read back: {:?}",
                    back.err()
                );
            }
        }
    }
});
