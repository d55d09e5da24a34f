//! Every cataloger's parser (apk, dpkg, rpm sqlite and headers, Python, npm, release files)
//! on any bytes: errors, never panics or endless loops.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    for c in stella_catalog::all() {
        for path in [
            "lib/apk/db/installed",
            "var/lib/dpkg/status",
            "var/lib/rpm/rpmdb.sqlite",
            "var/lib/rpm/Packages",
            "usr/lib/sysimage/rpm/Packages.db",
            "opt/app.jar",
            "usr/bin/app",
            "usr/lib/python3/x.dist-info/METADATA",
            "app/node_modules/x/package.json",
        ] {
            if c.wants_file(path, 0o755, data.len() as u64) {
                let _ = c.parse(path, data);
            }
        }
    }
    let _ = stella_catalog::rpm::parse_header(data);
    for f in stella_catalog::os::FILES {
        let _ = stella_catalog::os::parse_file(f, data);
    }
});
