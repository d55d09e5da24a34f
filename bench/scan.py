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


if __name__ == "__main__":
    main()
