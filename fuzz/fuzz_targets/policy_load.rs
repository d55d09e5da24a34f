//! Policies on arbitrary text: YAML loading (with the glob, date and comparison checks) and
//! Rego parsing never panic; a loaded YAML policy evaluates over a finding without panicking.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let opts = stella_policy::LoadOptions::default();
    if let Ok(p) = stella_policy::Policy::from_yaml(text, "fuzz.yaml", &opts) {
        let mut none: Vec<stella_match::Finding> = Vec::new();
        let _ = stella_policy::evaluate(&p, &mut none, &stella_policy::Context::default());
    }
    // parsing only: evaluation runs in the sandbox in the product
    let _ = stella_policy::RegoPolicy::new(text, "fuzz.rego");
    for pattern in text.lines().take(4) {
        if let Ok(g) = stella_policy::Glob::new(pattern) {
            let _ = g.matches(text);
        }
    }
});
