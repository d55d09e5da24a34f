//! Opening and walking the shared images, and refusing broken ones.

#![allow(clippy::unwrap_used, clippy::print_stderr)]

use std::path::{Path, PathBuf};

use stella_image::{Entry, EntryKind, Image, Limits, Target, Visitor};

fn shared() -> Option<PathBuf> {
    let dir = std::env::var("STELLA_SHARED_DATA").unwrap_or_else(|_| "../../../shared/data".into());
    let p = Path::new(&dir).join("images");
    if p.is_dir() {
        Some(p)
    } else {
        eprintln!(
            "SKIP: {} is absent; set STELLA_SHARED_DATA to read the real images",
            p.display()
        );
        None
    }
}

#[derive(Default)]
struct Collect {
    files: usize,
    wanted: Vec<(String, Vec<u8>)>,
    links: Vec<(String, String)>,
    whiteouts: Vec<String>,
    opaque: Vec<String>,
    refused: Vec<(String, String)>,
}

impl Visitor for Collect {
    fn wants(&mut self, path: &str, _size: u64, _mode: u32) -> bool {
        path == "lib/apk/db/installed" || path == "etc/os-release" || path.ends_with("/keep")
    }
    fn visit(&mut self, e: &Entry<'_>, content: Option<&[u8]>) {
        match e.kind {
            EntryKind::File => {
                self.files += 1;
                if let Some(c) = content {
                    self.wanted.push((e.path.to_string(), c.to_vec()));
                }
            }
            EntryKind::Symlink(t) => self.links.push((e.path.to_string(), t.clone())),
            EntryKind::Whiteout => self.whiteouts.push(e.path.to_string()),
            EntryKind::Opaque => self.opaque.push(e.path.to_string()),
            _ => {}
        }
    }
    fn refused(&mut self, path: &str, why: &str) {
        self.refused.push((path.to_string(), why.to_string()));
    }
}

fn walk_all(img: &Image) -> Vec<Collect> {
    let which: Vec<usize> = (0..img.layers.len()).collect();
    img.walk_layers(&which, |_| Collect::default(), Limits::default(), 2)
        .into_iter()
        .map(|(_, r)| r.unwrap().0)
        .collect()
}

#[test]
fn alpine_as_docker_archive_and_oci_layout() {
    let Some(dir) = shared() else { return };
    for t in [
        format!(
            "docker-archive:{}",
            dir.join("alpine-3.10.4.docker-archive.tar.gz").display()
        ),
        format!("oci-dir:{}", dir.join("alpine-3.10.4.oci").display()),
        dir.join("alpine-3.10.4.oci").display().to_string(),
    ] {
        let target = Target::parse(&t).unwrap();
        let img = Image::open(&target, None).unwrap();
        assert_eq!(img.layers.len(), 1, "{t}");
        assert_eq!(img.os.as_deref(), Some("linux"));
        let c = walk_all(&img);
        let installed = c[0]
            .wanted
            .iter()
            .find(|(p, _)| p == "lib/apk/db/installed")
            .unwrap();
        let n = String::from_utf8_lossy(&installed.1)
            .matches("\nP:")
            .count();
        assert_eq!(n, 14, "{t}");
        assert!(c[0].files > 50);
    }
}
