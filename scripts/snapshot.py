#!/usr/bin/env python3
"""Rebuilds crates/stella-cli/snapshot/advisories.zip, the advisory snapshot `stella serve`
uses without --db, from $STELLA_SHARED_DATA/advisories (see snapshot/SOURCES.md).
Deterministic: sorted entries, fixed timestamps and modes."""
import os, sys, zipfile

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
shared = os.environ.get("STELLA_SHARED_DATA", os.path.join(root, "..", "shared", "data"))
src = os.path.join(shared, "advisories")
out = os.path.join(root, "crates", "stella-cli", "snapshot", "advisories.zip")
if not os.path.isdir(src):
    sys.exit(f"{src} is absent")
os.chdir(src)
with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
    def put(p):
        zi = zipfile.ZipInfo(p, date_time=(2026, 11, 29, 0, 0, 0))
        zi.compress_type = zipfile.ZIP_DEFLATED
        zi.external_attr = 0o644 << 16
        with open(p, "rb") as fh:
            z.writestr(zi, fh.read(), compresslevel=9)
    for d in ["alpine-secdb", "debian-tracker/DSA", "debian-tracker/DLA"]:
        for dirpath, dirs, files in os.walk(d):
            dirs.sort()
            for f in sorted(files):
                if not f.endswith(".yaml"):
                    put(os.path.join(dirpath, f))
    for f in ["kev/known_exploited_vulnerabilities.json", "epss/epss-sample.csv", "osv/pypi-pypa.zip"]:
        put(f)
print(f"wrote {out} ({os.path.getsize(out)} bytes)")
