//! A root filesystem directory walked as one layer: never following a symbolic link, so no
//! link (absolute or `..`) can lead the walk out of the root.

use std::io::Read;
use std::path::Path;

use crate::Error;
use crate::layer::{Entry, EntryKind, LayerDigests, Limits, Visitor};

pub(crate) fn walk(
    root: &Path,
    limits: Limits,
    v: &mut dyn Visitor,
) -> Result<LayerDigests, Error> {
    let mut stack = vec![String::new()];
    let mut files = 0u64;
    while let Some(rel) = stack.pop() {
        let dir = if rel.is_empty() {
            root.to_path_buf()
        } else {
            root.join(&rel)
        };
        let mut names: Vec<_> = match fs_err::read_dir(&dir) {
            Ok(rd) => rd.filter_map(Result::ok).map(|e| e.file_name()).collect(),
            Err(e) => {
                v.refused(&rel, &e.to_string());
                continue;
            }
        };
        names.sort();
        for name in names {
            let name = name.to_string_lossy().into_owned();
            let path = if rel.is_empty() {
                name
            } else {
                format!("{rel}/{name}")
            };
            let full = root.join(&path);
            let Ok(meta) = std::fs::symlink_metadata(&full) else {
                continue;
            };
            let ft = meta.file_type();
            #[cfg(unix)]
            let mode = std::os::unix::fs::PermissionsExt::mode(&meta.permissions());
            #[cfg(not(unix))]
            let mode = 0;
            if ft.is_dir() {
                v.visit(
                    &Entry {
                        path: &path,
                        kind: &EntryKind::Dir,
                        size: 0,
                        mode,
                    },
                    None,
                );
                stack.push(path);
            } else if ft.is_symlink() {
                let target = std::fs::read_link(&full)
                    .map(|t| t.to_string_lossy().into_owned())
                    .unwrap_or_default();
                v.visit(
                    &Entry {
                        path: &path,
                        kind: &EntryKind::Symlink(target),
                        size: 0,
                        mode,
                    },
                    None,
                );
            } else if ft.is_file() {
                files += 1;
                let size = meta.len();
                let e = Entry {
                    path: &path,
                    kind: &EntryKind::File,
                    size,
                    mode,
                };
                if v.wants(&path, size, mode) {
                    if size > limits.max_file {
                        v.refused(
                            &path,
                            &format!("{size} bytes is over the {}-byte limit", limits.max_file),
                        );
                        v.visit(&e, None);
                        continue;
                    }
                    let mut buf = Vec::new();
                    match fs_err::File::open(&full)
                        .and_then(|f| f.take(limits.max_file + 1).read_to_end(&mut buf))
                    {
                        Ok(_) => v.visit(&e, Some(&buf)),
                        Err(err) => v.refused(&path, &err.to_string()),
                    }
                } else {
                    v.visit(&e, None);
                }
            } else {
                v.visit(
                    &Entry {
                        path: &path,
                        kind: &EntryKind::Other,
                        size: 0,
                        mode,
                    },
                    None,
                );
            }
        }
    }
    Ok(LayerDigests {
        blob: String::new(),
        diff_id: String::new(),
        compressed: 0,
        uncompressed: files,
    })
}
