//! Layer walking: any bytes as a (compressed) tar layer never panic, and no path a visitor
//! sees climbs out of the root.
#![no_main]

use libfuzzer_sys::fuzz_target;
use stella_image::{Entry, Limits, Visitor};

struct V;

impl Visitor for V {
    fn wants(&mut self, _path: &str, _size: u64, _mode: u32) -> bool {
        true
    }
    fn visit(&mut self, e: &Entry<'_>, _content: Option<&[u8]>) {
        assert!(!e.path.starts_with('/') && !e.path.split('/').any(|s| s == ".."));
    }
}

fuzz_target!(|data: &[u8]| {
    let limits = Limits { max_file: 1 << 20 };
    let _ = stella_image::walk_blob(data, "fuzz", limits, &mut V);
});
