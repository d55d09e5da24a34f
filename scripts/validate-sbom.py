#!/usr/bin/env python3
"""Validates SBOM files with the formats' reference validators.

Usage: validate-sbom.py FILE...   (format from the name: *.cdx.json, *.cdx.xml, *.spdx.json, *.spdx)
CycloneDX: cyclonedx-python-lib's strict JSON / XML schema validators, version from specVersion.
SPDX 2.x: spdx-tools' parser and full-document validator (what `pyspdxtools -i` runs).
Prints one line per file, `OK path` or `FAIL path: reason`, then `N passed, M failed`; exit 1 on any failure.
"""
import json
import re
import sys

from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator
from cyclonedx.validation.xml import XmlValidator
from spdx_tools.spdx.parser.parse_anything import parse_file
from spdx_tools.spdx.validation.document_validator import validate_full_spdx_document

VERSIONS = {f"1.{m}": getattr(SchemaVersion, f"V1_{m}") for m in range(0, 8)}


def check(path):
    if path.endswith(".cdx.json"):
        text = open(path, encoding="utf-8").read()
        ver = json.loads(text)["specVersion"]
        err = JsonStrictValidator(VERSIONS[ver]).validate_str(text)
        return None if err is None else str(err)[:500]
    if path.endswith(".cdx.xml"):
        text = open(path, encoding="utf-8").read()
        ver = re.search(r"cyclonedx.org/schema/bom/(1\.\d)", text).group(1)
        err = XmlValidator(VERSIONS[ver]).validate_str(text)
        return None if err is None else str(err)[:500]
    if path.endswith(".spdx.json") or path.endswith(".spdx"):
        doc = parse_file(path)
        msgs = validate_full_spdx_document(doc)
        return None if not msgs else "; ".join(m.validation_message for m in msgs[:5])
    return "unknown file type"


def main():
    passed = failed = 0
    for path in sys.argv[1:]:
        try:
            why = check(path)
        except Exception as e:  # a parser exception is a failure too
            why = f"{type(e).__name__}: {e}"[:500]
        if why is None:
            passed += 1
            print(f"OK {path}")
        else:
            failed += 1
            print(f"FAIL {path}: {why}")
    print(f"{passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
