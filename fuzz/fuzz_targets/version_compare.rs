//! Every version scheme and range syntax: never panic; comparisons are antisymmetric.
#![no_main]

use libfuzzer_sys::fuzz_target;
use stella_version::Scheme;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    let (a, b) = s.split_once('\n').unwrap_or((s, ""));
    for sch in Scheme::ALL {
        if let (Ok(x), Ok(y)) = (sch.compare(a, b), sch.compare(b, a)) {
            assert_eq!(x, y.reverse(), "{sch} {a:?} {b:?}");
        }
        if let Ok(c) = stella_version::constraint::Constraint::parse(sch, a) {
            let _ = c.contains(b);
        }
    }
    let _ = stella_version::vers::Vers::parse(a).map(|v| v.contains(b));
});
