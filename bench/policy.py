#!/usr/bin/env python3
"""`stella policy eval` over the 1,377 findings of the `scan` benchmark's 1,000-component SBOM:
median over 21 runs of the policy's load time and its evaluation time, as the binary reports
them (`STELLA_TIMING`). Usage: bench/policy.py STELLA OUT_DIR (run `bench/run scan` first)."""
import json, os, statistics, subprocess, sys

stella, out = sys.argv[1], sys.argv[2]
db, sbom = os.path.join(out, "all-advisories.db"), os.path.join(out, "sbom-1000.cdx.json")
if not (os.path.exists(db) and os.path.exists(sbom)):
    sys.exit("run `bench/run scan` first: it builds the DB and the SBOM this benchmark reads")
scan = os.path.join(out, "scan-1000.json")
subprocess.run([stella, "scan", f"sbom:{sbom}", "--db", db, "-f", "json", "-o", scan],
               check=True, stderr=subprocess.DEVNULL)
# the targets are stated for 1,000 findings: the first 1,000 of the scan's 1,377
with open(scan) as f:
    doc = json.load(f)
doc["findings"] = doc["findings"][:1000]
scan = os.path.join(out, "scan-1000-findings.json")
with open(scan, "w") as f:
    json.dump(doc, f)
policy = os.path.join(out, "policy.yaml")
# a realistic policy: an exemption first, deny and warn rules over every kind of condition, mutes
rules = ["""  - id: accept-test-images
    action: ignore
    when: { image: "registry.example.com/test/*" }"""]
for i in range(20):
    rules.append(f"""  - id: deny-{i}
    action: deny
    when: {{ severity: ">= critical", fixAvailable: true, package: "pkg:pypi/pkg{i}*", epss: ">= 0.{i % 9 + 1}" }}
    message: "{{vulnerabilityId}} in {{package}}: upgrade to {{fixedVersion}}\"""")
rules.append("""  - id: kev
    action: deny
    when: { kev: true }""")
rules.append("""  - id: highs
    action: warn
    when: { severity: ">= high", age: ">= 30d" }""")
mutes = [f"""  - vulnerability: CVE-2099-{i:04}
    package: "pkg:deb/debian/*"
    until: 2999-12-31
    reason: "benchmark mute {i}\"""" for i in range(50)]
with open(policy, "w") as f:
    f.write("version: 1\nrules:\n" + "\n".join(rules) + "\nmutes:\n" + "\n".join(mutes) + "\n")
loads, evals, n = [], [], 0
for _ in range(21):
    p = subprocess.run([stella, "policy", "eval", "--policy", policy, "--findings", scan, "-f", "json"],
                       env=dict(os.environ, STELLA_TIMING="1"), capture_output=True, text=True)
    for line in p.stderr.splitlines():
        if line.startswith("timing: policy loaded in"):
            w = line.split()
            loads.append(float(w[4])); evals.append(float(w[11])); n = int(w[8])
rego = os.path.join(out, "policy.rego")
with open(rego, "w") as f:
    f.write("""package stella.policy

deny contains msg if {
    some f in input.findings
    f.severity == "critical"
    count(f.fixedVersions) > 0
    f.epss >= 0.5
    msg := sprintf("%s in %s: upgrade to %s", [f.vulnerabilityId, f.package.name, concat(", ", f.fixedVersions)])
}

deny contains sprintf("%s is exploited", [f.vulnerabilityId]) if {
    some f in input.findings
    f.kev
}

warn contains sprintf("%d high findings", [n]) if {
    n := count([f | some f in input.findings; f.severity == "high"])
    n > 10
}

ignore contains f.key if {
    some f in input.findings
    startswith(f.package.purl, "pkg:pypi/pkg1")
    f.severity == "low"
}
""")
rego_evals = []
for _ in range(21):
    p = subprocess.run([stella, "policy", "eval", "--policy", rego, "--findings", scan, "-f", "json"],
                       env=dict(os.environ, STELLA_TIMING="1"), capture_output=True, text=True)
    for line in p.stderr.splitlines():
        if line.startswith("timing: policy loaded in"):
            rego_evals.append(float(line.split()[11]))
print(json.dumps({"bench": "policy_yaml", "findings": n, "rules": len(rules), "mutes": len(mutes),
                  "load_ms_median": round(statistics.median(loads), 3),
                  "eval_ms_median": round(statistics.median(evals), 3),
                  "targets": "load<=5ms eval<=1ms (YAML, 1,000 findings)"}), flush=True)
print(json.dumps({"bench": "policy_rego", "findings": n,
                  "eval_ms_median": round(statistics.median(rego_evals), 2),
                  "note": "in a sandboxed child process: spawn, input, regorus parse and evaluation",
                  "targets": "eval<=20ms (Rego, 1,000 findings)"}), flush=True)
