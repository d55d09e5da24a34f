//! Distro and vendor records (Amazon, Rocky, Alma, Bottlerocket, Ubuntu, Oracle OVAL, SUSE
//! CVRF, Red Hat CSAF and API, Debian tracker, GitHub GraphQL, Photon, Arch, Echo, Root.io,
//! GitLab, Node.js WG, RustSec): parsing never panics.
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
        stella_advisory::vulnlist::parse_alma(data, "8", p)
            .ok()
            .flatten(),
        stella_advisory::vulnlist::parse_bottlerocket(data, p).ok(),
        stella_advisory::oracle::parse_oracle(data, p, &mut problems).ok(),
        stella_advisory::suse::parse_suse(data, p, &mut problems).ok(),
        stella_advisory::ghsa::parse_ghsa(data, p, &mut problems).ok(),
        stella_advisory::redhat_api::parse_redhat_api(data, p, &mut problems).ok(),
        stella_advisory::vulnlist::parse_photon(data, p)
            .ok()
            .flatten(),
        stella_advisory::vulnlist::parse_arch(data, p).ok(),
        stella_advisory::nodejs::parse_nodejs(data, p, &mut problems)
            .ok()
            .flatten(),
        stella_advisory::glad::parse_glad(data, p, &mut problems)
            .ok()
            .flatten(),
    ]
    .into_iter()
    .flatten()
    .chain(stella_advisory::redhat::parse_redhat_csaf(data, p, &mut problems).unwrap_or_default())
    .chain(stella_advisory::vulnlist::parse_echo(data, "pkg", p).unwrap_or_default())
    .chain({
        let mut out = Vec::new();
        let _ = stella_advisory::rootio::parse_rootio(data, p, &mut out, &mut problems);
        out
    })
    .chain(
        std::str::from_utf8(data)
            .ok()
            .and_then(|t| stella_advisory::rustsec::parse(t).ok()),
    )
    .chain({
        let mut out = Vec::new();
        let _ =
            stella_advisory::debian_json::parse_tracker_document(data, p, &mut out, &mut problems);
        out
    }) {
        for af in &a.affected {
            for r in &af.ranges {
                let _ = r.to_osv();
            }
        }
    }
});
