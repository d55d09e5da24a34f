//! The writers' exact output for a small document, in every format (insta snapshots).

#![allow(clippy::unwrap_used)]

use std::path::PathBuf;

use stella_sbom::{OutputFormat, WriteOptions, read, write};

fn doc() -> stella_sbom::Sbom {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("testdata/small-cyclonedx-1.6.json");
    read(&std::fs::read(p).unwrap(), None).unwrap().sbom
}

fn out(f: OutputFormat) -> String {
    let opts = WriteOptions {
        timestamp: Some("2026-11-29T00:00:00Z".into()),
        serial: None,
        tool_version: Some("0.0.0".into()),
    };
    String::from_utf8(write(&doc(), f, &opts)).unwrap()
}

#[test]
fn cyclonedx_json_1_6() {
    insta::assert_snapshot!(out(OutputFormat::CycloneDxJson(6)));
}
#[test]
fn cyclonedx_json_1_4() {
    insta::assert_snapshot!(out(OutputFormat::CycloneDxJson(4)));
}
#[test]
fn cyclonedx_xml_1_6() {
    insta::assert_snapshot!(out(OutputFormat::CycloneDxXml(6)));
}
#[test]
fn spdx_json() {
    insta::assert_snapshot!(out(OutputFormat::SpdxJson));
}
#[test]
fn spdx_tag_value() {
    insta::assert_snapshot!(out(OutputFormat::SpdxTagValue));
}
