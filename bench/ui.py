#!/usr/bin/env python3
"""Starts `stella serve` on the DB of all shared advisories, adds a user, and runs bench/ui.mjs
with an SBOM of 4 × the scan benchmark's 1,000 components (5,508 findings).
Usage: bench/ui.py STELLA OUT_DIR (after `bench/run scan`)."""
import json, os, shutil, subprocess, sys, tempfile, time

stella, out = sys.argv[1], sys.argv[2]
db, big = os.path.join(out, "all-advisories.db"), os.path.join(out, "sbom-1000.cdx.json")
if not (os.path.exists(db) and os.path.exists(big)):
    sys.exit("run `bench/run scan` first")
with open(big) as f:
    doc = json.load(f)
doc["components"] = [dict(c, **{"bom-ref": f"{k}-{c.get('bom-ref', i)}"})
                     for k in range(4) for i, c in enumerate(doc["components"])]
sbom = os.path.join(out, "sbom-4000.cdx.json")
with open(sbom, "w") as f:
    json.dump(doc, f)
data = tempfile.mkdtemp(prefix="stella-ui-bench-")
try:
    add = subprocess.run([stella, "token", "add-user", "bench", "--scope", "scan,policy:write",
                          "--data", data], input="bench password 1\n", text=True, capture_output=True)
    if add.returncode != 0:
        sys.exit(add.stderr)
    log_path = os.path.join(data, "serve.log")
    srv = subprocess.Popen([stella, "serve", "--listen", "127.0.0.1:0", "--data", data, "--db", db],
                           stderr=open(log_path, "w"), env={**os.environ, "STELLA_LOG": "warn"})
    try:
        for _ in range(600):
            with open(log_path) as f:
                line = next((l for l in f if "listening on " in l), None)
            if line:
                break
            time.sleep(0.05)
        url = line.split("listening on ")[1].split()[0]
        subprocess.run(["node", "bench/ui.mjs", url, "bench", "bench password 1", sbom], check=True)
    finally:
        srv.terminate()
        srv.wait()
finally:
    shutil.rmtree(data, ignore_errors=True)
