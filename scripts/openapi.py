#!/usr/bin/env python3
"""Writes docs/openapi.json, the OpenAPI 3.1 document Core serves at /openapi.json.

The document is generated so the shared parts (problem responses, auth, quota headers) stay
the same on every route. `scripts/openapi.py --check` fails when the committed file is stale
(scripts/test runs it)."""
import json, os, sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "docs", "openapi.json")

PROBLEM = {"$ref": "#/components/schemas/Problem"}
SBOM_TYPES = ["cyclonedx-json", "cyclonedx-xml", "spdx-json", "spdx-tag-value", "spdx3-json",
              "syft-json", "trivy-json"]
QUOTA_HEADERS = {
    "X-Stella-Quota-Limit": {"description": "Scans allowed per UTC day for this token.",
                             "schema": {"type": "string"}},
    "X-Stella-Quota-Remaining": {"description": "Scans left today: the token's, or the tenant's cap's when less is left of it.",
                                 "schema": {"type": "string"}},
    "X-Stella-Tenant-Quota-Limit": {"description": "The tenant's daily cap over all its tokens, when it has one.",
                                    "schema": {"type": "string"}},
    "X-Stella-Reset": {"description": "The next UTC midnight (RFC 3339).",
                       "schema": {"type": "string"}},
    "X-Stella-Quota-Warning": {"description": "Present from 200 of 333 used (proportionally for other limits).",
                               "schema": {"type": "string"}},
}
DAILY_SCANS = {"type": ["integer", "null"], "minimum": 0, "maximum": 4294967295,
               "description": "Scans a UTC day over all the tenant's tokens together (each token keeps its own limit); null: no cap."}
DIFF_ID = {"type": "string", "pattern": "^sha256:[0-9a-f]{64}$"}


def problem(desc, headers=None):
    r = {"description": desc, "content": {"application/problem+json": {"schema": PROBLEM}}}
    if headers:
        r["headers"] = headers
    return r


def js(schema, desc="OK.", headers=None):
    r = {"description": desc, "content": {"application/json": {"schema": schema}}}
    if headers:
        r["headers"] = headers
    return r


def obj(props, required=None, extra=True):
    o = {"type": "object", "properties": props}
    if required:
        o["required"] = required
    if not extra:
        o["additionalProperties"] = False
    return o


def protected(op, scope="scan", body=False, quota_headers=True):
    """Adds what every protected route answers: 401, 403, 408, the quota headers."""
    op["security"] = [{"bearer": []}]
    r = op["responses"]
    r.setdefault("401", problem("No token, or a token that is forged, expired or from another server (with a `WWW-Authenticate: Bearer` challenge)."))
    r.setdefault("403", problem(f"The token lacks the `{scope}` scope, the caller's role in the tenant does not allow this, or the caller does not belong to the tenant it names."))
    r.setdefault("400", problem("A malformed request, or a caller of several tenants that names none."))
    op.setdefault("parameters", []).append(TENANT_PARAM)
    r.setdefault("408", problem("The request took longer than the server's request timeout."))
    if body:
        r.setdefault("413", problem("The body is larger than the server's limit (`--max-body-mib`)."))
    if quota_headers:
        for code, resp in r.items():
            if code.startswith("2"):
                resp.setdefault("headers", {}).update(QUOTA_HEADERS)
    return op


TENANT_PARAM = {
    "name": "X-Stella-Tenant", "in": "header", "required": False,
    "schema": {"type": "string", "pattern": "^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$"},
    "description": "The tenant the request acts in (default: the caller's only tenant, else the default tenant if it belongs to it). `?tenant=ID` does the same where headers cannot be sent (event streams).",
}
ROLE = {"enum": ["viewer", "scanner", "policy-editor", "admin"]}
TENANT_ID = {"type": "string", "pattern": "^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$"}

SCAN_RESULT = {"$ref": "#/components/schemas/ScanResult"}
PROGRESS = {"$ref": "#/components/schemas/Progress"}
ID_PARAM = {"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}

scan_post = {
    "summary": "Scan an SBOM or an image",
    "description": "The body is an SBOM (CycloneDX JSON/XML, SPDX JSON/tag-value/3.0, Syft JSON, Trivy JSON; detected unless `X-Stella-Sbom-Type` names it) or `{\"image\": {\"reference\", \"digest\", \"layers\": [diffID…], \"platform\"}}`: with `layers` Core composes the uploaded fragments (Delta-SBOM), without them it pulls `reference`. Admitted against the caller's daily quota once the body is readable. `?wait=true` scans at once and answers with the result; otherwise the scan is queued (202) and `Location` names it.",
    "parameters": [
        {"name": "wait", "in": "query", "schema": {"type": "boolean"},
         "description": "Answer with the scan result (200) instead of queueing it (202)."},
        {"name": "image", "in": "query", "schema": {"type": "string"},
         "description": "The image the SBOM describes (its scans are kept under this reference)."},
        {"name": "labels", "in": "query", "schema": {"type": "string"},
         "description": "Labels of the scan, `KEY=VALUE,KEY=VALUE` (at most 32): the scheduler's re-scan can be limited to them (`stella serve --rescan-label`)."},
        {"name": "X-Stella-Sbom-Type", "in": "header", "schema": {"type": "string", "enum": SBOM_TYPES}},
    ],
    "requestBody": {
        "required": True,
        "description": "An SBOM, or an image request.",
        "content": {"application/json": {"schema": {}, "examples": {
                        "cyclonedx": {"summary": "A CycloneDX SBOM", "value": {
                            "bomFormat": "CycloneDX", "specVersion": "1.6", "version": 1,
                            "components": [{"type": "library", "bom-ref": "a", "name": "memcached",
                                            "version": "1.6.17-r0",
                                            "purl": "pkg:apk/alpine/memcached@1.6.17-r0?arch=x86_64&distro=alpine-3.17.3"}]}},
                        "image": {"summary": "An image by its layers (Delta-SBOM)", "value": {
                            "image": {"reference": "registry.example.com/app:1",
                                      "layers": ["sha256:" + "0" * 64]}}}}},
                    "application/xml": {"schema": {}},
                    "text/plain": {"schema": {}}},
    },
    "responses": {
        "200": js(SCAN_RESULT, "The scan result (docs/scan-result.schema.json)."),
        "202": js(obj({"id": {"type": "string"}, "location": {"type": "string"},
                       "events": {"type": "string"}}, ["id", "location", "events"]),
                  "Queued; follow `events` (SSE) and fetch `location`.",
                  {"Location": {"schema": {"type": "string"}}}) | {"links": {
            "GetScan": {"operationId": "getScan", "parameters": {"id": "$response.body#/id"}},
            "ScanEvents": {"operationId": "scanEvents", "parameters": {"id": "$response.body#/id"}},
            "ScanDiff": {"operationId": "scanDiff", "parameters": {"id": "$response.body#/id"}},
        }},
        "400": problem("The body is not an SBOM or image request, the type header names no known format, or a label is malformed."),
        "409": problem("Layers of an image request have no uploaded fragment (`?wait=true`)."),
        "422": problem("The policy could not be evaluated, or the image could not be pulled."),
        "429": problem("The token's daily quota is used up.",
                       {"Retry-After": {"description": "Seconds to the next UTC midnight.",
                                        "schema": {"type": "string"}}}),
        "503": problem("Too many scans waiting.", {"Retry-After": {"schema": {"type": "string"}}}),
    },
}


def scan_post_op(op_id, summary_suffix=""):
    op = json.loads(json.dumps(scan_post))
    op["operationId"] = op_id
    op["summary"] += summary_suffix
    return protected(op, body=True)


missing_op = lambda op_id: protected({
    "operationId": op_id,
    "summary": "Which layers Core has no fragment of",
    "description": "The set difference Delta-SBOM clients upload: layers neither this caller nor Core itself has catalogued.",
    "requestBody": {"required": True, "content": {"application/json": {"schema": obj(
        {"layers": {"type": "array", "maxItems": 1000, "items": DIFF_ID}}, ["layers"], extra=False)}}},
    "responses": {
        "200": js(obj({"missing": {"type": "array", "items": DIFF_ID}}, ["missing"])),
        "400": problem("Not `{\"layers\": [diffID…]}`, or an id that is not a diffID."),
    },
}, body=True)

quota_op = lambda op_id: protected({
    "operationId": op_id,
    "summary": "The caller's quota today",
    "responses": {"200": js(obj({
        "limit": {"type": "integer"}, "used": {"type": "integer"},
        "remaining": {"type": "integer", "description": "The token's, or less when the tenant's cap has less left."},
        "resetAt": {"type": "string"},
        "tenant": obj({"id": {"type": "string"}, "limit": {"type": "integer"}, "used": {"type": "integer"},
                       "remaining": {"type": "integer"}}, ["id", "limit", "used", "remaining"])},
        ["limit", "used", "remaining", "resetAt"]))},
})

POLICY_VERSION = obj({
    "version": {"type": "integer"}, "author": {"type": "string"}, "created": {"type": "string"},
    "comment": {"type": ["string", "null"]}, "yaml": {"type": "string"},
    "rego": {"type": "object", "additionalProperties": {"type": "string"}}},
    ["version", "author", "created"])
POLICY_BODY = {
    "required": True,
    "content": {
        "application/yaml": {"schema": {"type": "string"}, "example": "version: 1\nrules:\n  - id: no-criticals\n    action: deny\n    when: { severity: \">= critical\" }\n"},
        "application/json": {"schema": obj({
            "yaml": {"type": "string"},
            "rego": {"type": "object", "additionalProperties": {"type": "string"}},
            "comment": {"type": "string"}}, extra=False)},
    },
}
MUTE = obj({
    "id": {"type": "string"}, "vulnerability": {"type": "string"}, "package": {"type": "string"},
    "until": {"type": "string", "format": "date"}, "reason": {"type": "string", "minLength": 1},
    "by": {"type": "string"}, "created": {"type": "string"}}, ["vulnerability", "reason"])

MUTE_REQUEST = {**MUTE, "properties": {**MUTE["properties"], "scanId": {
    "type": "string", "description": "The scan the mute is made from: `matches` then counts its findings only."}}}
MUTED = {**MUTE, "properties": {**MUTE["properties"], "matches": obj({
    "scans": {"type": "integer"}, "findings": {"type": "integer"},
    "images": {"type": "array", "items": {"type": "string"}},
    "notChecked": {"type": "integer"}, "warning": {"type": "string"}}, ["scans", "findings", "images"])}}

doc = {
    "openapi": "3.1.0",
    "info": {
        "title": "Stella Core API",
        "version": "0.1.0",
        "description": "SBOM-first vulnerability scanning. Every route under /api/v1 needs a bearer token from POST /connect/token (or anonymous access, when Core allows it). Errors are application/problem+json.",
    },
    "components": {
        "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT (EdDSA)"}},
        "schemas": {
            "Problem": obj({"type": {"type": "string"}, "title": {"type": "string"},
                            "status": {"type": "integer"}, "detail": {"type": "string"},
                            "error": obj({"source": {"type": "string"},
                                          "line": {"type": ["integer", "null"]},
                                          "column": {"type": ["integer", "null"]},
                                          "message": {"type": "string"}},
                                         ["source", "message"])},
                           ["title", "status", "detail"]),
            "ScanResult": {"description": "See docs/scan-result.schema.json.", "type": "object",
                           "required": ["schemaVersion", "scanId", "findings", "verdict"]},
            "Progress": obj({"state": {"enum": ["queued", "running", "done", "failed"]},
                             "step": {"type": "string"}, "verdict": {"type": "string"},
                             "problem": PROBLEM}, ["state"]),
        },
    },
    "paths": {
        "/healthz": {"get": {"operationId": "healthz", "summary": "Liveness",
                             "responses": {"200": {"description": "Alive.", "content": {"text/plain": {"schema": {"type": "string"}}}}}}},
        "/readyz": {"get": {"operationId": "readyz", "summary": "Readiness: the store answers (scaled out: Redis and PostgreSQL)",
                            "responses": {"200": {"description": "Ready.", "content": {"text/plain": {"schema": {"type": "string"}}}},
                                          "503": problem("The store cannot be used (scaled out: the detail names Redis or PostgreSQL).")}}},
        "/metrics": {"get": {"operationId": "metrics", "summary": "Prometheus metrics",
                             "description": "Request latency histograms per route family, responses by class, scans and verdicts, scan time, quota and queue rejections, queue depth, DB age.",
                             "responses": {"200": {"description": "Text exposition format 0.0.4.",
                                                   "content": {"text/plain": {"schema": {"type": "string"}}}}}}},
        "/openapi.json": {"get": {"operationId": "openapi", "summary": "This document",
                                  "responses": {"200": js({"type": "object"}, "OpenAPI 3.1.")}}},
        "/connect/token": {"post": {
            "operationId": "token",
            "summary": "OAuth2 token endpoint (client_credentials, password)",
            "description": "Client credentials in HTTP Basic or the form (client_id, client_secret); users with username and password. Tokens are EdDSA JWTs valid 12 hours with the claims iss, sub, tid, tier, maxScansPerDay, scope, iat, exp, jti.",
            "requestBody": {"required": True, "content": {"application/x-www-form-urlencoded": {"schema": obj({
                "grant_type": {"type": "string", "enum": ["client_credentials", "password"]},
                "client_id": {"type": "string"}, "client_secret": {"type": "string"},
                "username": {"type": "string"}, "password": {"type": "string"},
                "scope": {"type": "string"}}, ["grant_type"])}}},
            "responses": {
                "200": js(obj({"access_token": {"type": "string"}, "token_type": {"const": "Bearer"},
                               "expires_in": {"type": "integer"}, "scope": {"type": "string"}},
                              ["access_token", "token_type", "expires_in", "scope"]), "A token."),
                "400": js(obj({"error": {"type": "string"}, "error_description": {"type": "string"}}, ["error"]),
                          "RFC 6749 §5.2: invalid_request, invalid_grant, unsupported_grant_type, invalid_scope."),
                "401": js(obj({"error": {"type": "string"}, "error_description": {"type": "string"}}, ["error"]),
                          "invalid_client.", {"WWW-Authenticate": {"schema": {"type": "string"}}}),
                "413": problem("The body is larger than the server's limit."),
                "429": js(obj({"error": {"const": "slow_down"}, "error_description": {"type": "string"}}, ["error"]),
                          "Too many failed logins for this principal or address lately: wait `Retry-After` seconds.",
                          {"Retry-After": {"schema": {"type": "string"}}}),
            }}},
        "/.well-known/openid-configuration": {"get": {
            "operationId": "discovery", "summary": "OpenID Provider metadata",
            "responses": {"200": js(obj({"issuer": {"type": "string"}, "token_endpoint": {"type": "string"},
                                         "jwks_uri": {"type": "string"}}, ["issuer", "token_endpoint", "jwks_uri"]))}}},
        "/jwks": {"get": {
            "operationId": "jwks", "summary": "The keys tokens are signed with (RFC 8037 OKP, Ed25519)",
            "responses": {"200": {"description": "A JWK set; retired keys stay until their tokens expire.",
                                  "content": {"application/jwk-set+json": {"schema": obj(
                                      {"keys": {"type": "array", "items": obj({"kty": {"const": "OKP"}, "crv": {"const": "Ed25519"},
                                                                               "kid": {"type": "string"}, "x": {"type": "string"}},
                                                                              ["kty", "crv", "kid", "x"])}}, ["keys"])}}}}}},
        "/api/v1/scan": {"post": scan_post_op("scan")},
        "/scan": {"post": scan_post_op("scanSeed", " (the seed's unversioned path)")},
        "/api/v1/scans": {"get": protected({
            "operationId": "listScans", "summary": "An image's scans, oldest first",
            "parameters": [{"name": "image", "in": "query", "required": True, "schema": {"type": "string"}}],
            "responses": {
                "200": js(obj({"image": {"type": "string"}, "scans": {"type": "array", "items": obj(
                    {"id": {"type": "string"}, "createdAt": {"type": "string"}, "verdict": {"type": "string"},
                     "summary": {"type": "object", "additionalProperties": {"type": "integer"}}}, ["id", "createdAt"])}}, ["image", "scans"]),
                          "The scans, each with its verdict and counts (the UI's timeline)."),
                "400": problem("No image given."),
            }})},
        "/api/v1/images": {"get": protected({
            "operationId": "listImages", "summary": "Every image with a stored scan: its latest scan, when, and how many",
            "responses": {
                "200": js(obj({"images": {"type": "array", "items": obj({
                    "image": {"type": "string"}, "latestScanId": {"type": "string"},
                    "createdAt": {"type": ["string", "null"]}, "scans": {"type": "integer"},
                    "verdict": {"type": "string"},
                    "summary": {"type": "object", "additionalProperties": {"type": "integer"}}},
                    ["image", "latestScanId", "scans"])}}, ["images"]), "The images, in name order, with their latest verdict and counts."),
            }})},
        "/api/v1/stats": {"get": protected({
            "operationId": "stats", "summary": "The dashboard's numbers: scans per UTC day, findings by severity and verdicts over every image's latest scan, the most vulnerable images",
            "parameters": [{"name": "days", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 366},
                            "description": "How many days back (default 30; clamped to 1–366)."}],
            "responses": {
                "200": js(obj({"days": {"type": "array", "items": obj({"day": {"type": "string"}, "scans": {"type": "integer"}}, ["day", "scans"])},
                               "severity": {"type": "object", "additionalProperties": {"type": "integer"}},
                               "verdicts": {"type": "object", "additionalProperties": {"type": "integer"}},
                               "images": {"type": "integer"},
                               "mostVulnerable": {"type": "array", "items": obj({
                                   "image": {"type": "string"}, "scanId": {"type": "string"},
                                   "createdAt": {"type": ["string", "null"]},
                                   "summary": {"type": "object", "additionalProperties": {"type": "integer"}},
                                   "verdict": {"type": "string"}}, ["image", "scanId", "summary", "verdict"])},
                               "risk": {"type": "array", "items": obj({"day": {"type": "string"}, "images": {"type": "integer"},
                                   "severity": {"type": "object", "additionalProperties": {"type": "integer"}}}, ["day", "images", "severity"]),
                                   "description": "Open findings per day: each image counted with its latest scan as of that day."},
                               "hot": {"type": "array", "items": {"type": "object"},
                                   "description": "Known-exploited (KEV) and likely-exploited (EPSS >= 0.1) findings of the latest scans, riskiest first (at most 20)."}},
                              ["days", "severity", "verdicts", "images", "mostVulnerable"]), "The numbers."),
                "400": problem("A bad query."),
            }})},
        "/api/v1/events": {"get": protected({
            "operationId": "events", "summary": "Server-sent events: `event: scan` with {id, image, createdAt, verdict, summary} for every scan this replica stores in the caller's tenant (`hello` first; `lagged` when a slow reader missed some)",
            "responses": {"200": {"description": "An event stream.", "content": {"text/event-stream": {"schema": {"type": "string"}}}}}})},
        "/api/v1/vulnerabilities/{id}": {"get": protected({
            "operationId": "getVulnerability", "summary": "What the DB knows of one vulnerability: sources, aliases, every severity statement with its score, KEV, EPSS",
            "parameters": [{"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}],
            "responses": {
                "200": js(obj({"id": {"type": "string"}, "aliases": {"type": "array", "items": {"type": "string"}},
                               "summary": {"type": ["string", "null"]}, "severity": {"type": "string"},
                               "severities": {"type": "array", "items": obj({"kind": {"type": "string"}, "value": {"type": "string"},
                                   "source": {"type": "string"}, "distro": {"type": "boolean"}, "score": {"type": ["number", "null"]},
                                   "level": {"type": ["string", "null"]}, "chosen": {"type": "boolean"}}, ["kind", "value", "source"])},
                               "kev": {"type": ["object", "null"]}, "epss": {"type": ["object", "null"]},
                               "sources": {"type": "array", "items": {"type": "string"}}}, ["id", "aliases", "severities", "sources"]), "The record."),
                "404": problem("No such vulnerability in the DB."),
            }})},
        "/api/v1/policy/preview": {"post": protected({
            "operationId": "previewPolicy", "summary": "A draft policy's verdict on a stored image (its latest input matched against the DB in use now) beside the active policy's, with the findings decided differently; nothing is stored or charged",
            "parameters": [{"name": "image", "in": "query", "required": True, "schema": {"type": "string"}}],
            "requestBody": {"required": True, "content": {"application/x-yaml": {"schema": {"type": "string"}},
                                                          "application/json": {"schema": {"type": "object"}}}},
            "responses": {
                "200": js(obj({"image": {"type": "string"}, "findings": {"type": "integer"},
                               "draft": {"type": "object"}, "active": {"type": "object"},
                               "changed": {"type": "array", "items": {"type": "object"}}}, ["image", "draft", "active", "changed"]), "The two verdicts."),
                "400": problem("No image given, or a bad body."),
                "404": problem("No stored scan of that image."),
                "422": problem("The draft does not load (with `error: {line, column, message}`)."),
            }})},
        "/api/v1/images/rescan": {"post": protected({
            "operationId": "rescanImage",
            "summary": "Match an image's latest scan input again (the DB and policy in use now), without cataloguing again",
            "description": "A scan like any other: admitted against the quota, stored in the image's history, audited. `Content-Location` names the stored scan.",
            "requestBody": {"required": True, "content": {"application/json": {"schema": obj(
                {"image": {"type": "string"}}, ["image"], extra=False)}}},
            "responses": {
                "200": js(SCAN_RESULT, "The new result.", {"Content-Location": {"schema": {"type": "string"}}}),
                "400": problem("The body is not `{\"image\": REF}`."),
                "404": problem("No stored scan of that image."),
                "415": problem("The body is not JSON."),
                "422": problem("The body is not `{\"image\": REF}`, or the policy could not be evaluated."),
                "429": problem("The token's daily quota is used up.",
                               {"Retry-After": {"description": "Seconds to the next UTC midnight.",
                                                "schema": {"type": "string"}}}),
            }}, body=True)},
        "/api/v1/scans/{id}": {"get": protected({
            "operationId": "getScan", "summary": "A scan: its result, or its state while queued or running",
            "parameters": [ID_PARAM],
            "responses": {
                "200": js(SCAN_RESULT, "The stored result."),
                "202": js(PROGRESS, "Queued or running.", {"Retry-After": {"schema": {"type": "string"}}}),
                "404": problem("No such scan."),
                "409": problem("The scan failed: layers were missing."),
                "422": problem("The scan failed (policy, pull, or it crashed Core three times)."),
            }})},
        "/api/v1/scans/{id}/events": {"get": protected({
            "operationId": "scanEvents", "summary": "Live progress (server-sent events)",
            "description": "Events `queued`, `running` (with `step`), then `done` (with `verdict`) or `failed` (with `problem`); each `data` is a Progress object. The stream ends after done or failed.",
            "parameters": [ID_PARAM],
            "responses": {"200": {"description": "An event stream.", "content": {"text/event-stream": {"schema": obj({
                "event": {"enum": ["queued", "running", "done", "failed"]},
                "data": {"type": "string", "description": "A Progress object as JSON."}}, ["event", "data"])}}},
                          "404": problem("No such scan.")}})},
        "/api/v1/scans/{id}/diff": {"get": protected({
            "operationId": "scanDiff", "summary": "New and fixed findings against another scan of the image",
            "parameters": [ID_PARAM, {"name": "against", "in": "query", "schema": {"type": "string"},
                                      "description": "The scan to compare with (default: the image's previous scan)."}],
            "responses": {"200": js(obj({"image": {"type": "string"}, "base": {"type": "object"}, "head": {"type": "object"},
                                         "new": {"type": "array"}, "fixed": {"type": "array"}, "unchanged": {"type": "integer"}},
                                        ["image", "base", "head", "new", "fixed", "unchanged"])),
                          "404": problem("No such scan, or no earlier scan of the image.")}})},
        "/api/v1/layers/missing": {"post": missing_op("layersMissing")},
        "/layers/missing": {"post": missing_op("layersMissingSeed")},
        "/api/v1/layers/{diffId}/sbom": {"put": protected({
            "operationId": "putLayer", "summary": "Upload one layer's fragment",
            "description": "The fragment `stella sbom --per-layer` writes (under `fragment`): packages by location, release files, whiteouts, made by this Core's cataloger set. Trusted only for the uploader's own scans.",
            "parameters": [{"name": "diffId", "in": "path", "required": True, "schema": DIFF_ID}],
            "requestBody": {"required": True, "content": {"application/json": {"schema": {"type": "object"}}}},
            "responses": {"204": {"description": "Stored."},
                          "400": problem("Not a fragment, not of this layer, or not a diffID."),
                          "422": problem("Made by another cataloger set.")}}, body=True)},
        "/api/v1/quota": {"get": quota_op("quota")},
        "/quota": {"get": quota_op("quotaSeed")},
        "/api/v1/token/offline": {"post": protected({
            "operationId": "offlineToken", "summary": "An offline token (admin)",
            "requestBody": {"required": False, "content": {"application/json": {"schema": obj(
                {"expiresDays": {"type": "integer", "minimum": 1, "maximum": 90, "default": 30},
                 "clientId": {"type": "string"}}, extra=False)}}},
            "responses": {"200": js(obj({"jwt": {"type": "string"}, "expires": {"type": "string"}, "sub": {"type": "string"}},
                                        ["jwt", "expires"])),
                          "400": problem("A lifetime outside 1–90 days, or not JSON."),
                          "404": problem("No such client.")}}, scope="admin", body=True)},
        "/api/v1/policy": {
            "get": protected({"operationId": "getPolicy", "summary": "The active policy version",
                              "responses": {"200": js(POLICY_VERSION), "404": problem("No policy is set.")}}),
            "put": protected({"operationId": "putPolicy", "summary": "Record a new policy version and make it active",
                              "requestBody": POLICY_BODY,
                              "responses": {"200": js(POLICY_VERSION),
                                            "400": problem("Not a policy body."),
                                            "422": problem("The policy does not load (with line and column); the active one stays.")}},
                             scope="policy:write", body=True),
        },
        "/api/v1/policy/validate": {"post": protected({
            "operationId": "validatePolicy", "summary": "Check a policy without recording it",
            "requestBody": POLICY_BODY,
            "responses": {"200": js(obj({"valid": {"const": True}}, ["valid"])),
                          "400": problem("Not a policy body."),
                          "422": problem("The policy does not load (with line and column).")}}, body=True)},
        "/api/v1/policy/history": {"get": protected({
            "operationId": "policyHistory", "summary": "Policy versions and activations (or the diff of two)",
            "parameters": [{"name": "from", "in": "query", "schema": {"type": "integer", "minimum": 0}},
                           {"name": "to", "in": "query", "schema": {"type": "integer", "minimum": 0}}],
            "responses": {"200": js({"type": "object"}), "400": problem("Bad query."),
                          "404": problem("No such version.")}})},
        "/api/v1/policy/activate": {"post": protected({
            "operationId": "activatePolicy", "summary": "Make a recorded version active again (roll-back)",
            "requestBody": {"required": True, "content": {"application/json": {"schema": obj(
                {"version": {"type": "integer", "minimum": 0}}, ["version"], extra=False)}}},
            "responses": {"200": js(obj({"active": {"type": "integer"}}, ["active"])),
                          "400": problem("Not `{\"version\": N}`."), "404": problem("No such version.")}},
            scope="policy:write", body=True)},
        "/api/v1/policy/default": {"get": protected({
            "operationId": "defaultPolicy", "summary": "The built-in policy that decides while a tenant has set none (docs/policy.md)",
            "responses": {"200": {"description": "The policy (YAML).",
                                  "content": {"application/yaml": {"schema": {"type": "string"}}}}}})},
        "/api/v1/policy/mute": {"post": protected({
            "operationId": "mute", "summary": "Mute a vulnerability (with a reason, optionally until a day)",
            "requestBody": {"required": True, "content": {"application/json": {"schema": MUTE_REQUEST, "example": {
                "vulnerability": "CVE-2023-46853", "package": "pkg:apk/alpine/memcached",
                "until": "2099-01-01", "reason": "not reachable from the entrypoint"}}}},
            "responses": {"201": js(MUTED, "Muted; `matches` says what it mutes now (a `warning` when nothing)."), "400": problem("Not a mute."),
                          "422": problem("The mute does not load (an impossible day, a bad pattern).")}},
            scope="policy:write", body=True)},
        "/api/v1/policy/mutes": {"get": protected({
            "operationId": "mutes", "summary": "The mutes made through the API",
            "responses": {"200": js(obj({"mutes": {"type": "array", "items": MUTE}}, ["mutes"]))}})},
        "/api/v1/policy/mute/{id}": {"delete": protected({
            "operationId": "unmute", "summary": "Remove a mute",
            "parameters": [{"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}],
            "responses": {"204": {"description": "Removed."}, "404": problem("No such mute.")}},
            scope="policy:write")},
        "/api/v1/policy/export": {"get": protected({
            "operationId": "exportPolicy", "summary": "Every version, the activations and the mutes",
            "responses": {"200": js({"type": "object"})}})},
        "/api/v1/policy/import": {"post": protected({
            "operationId": "importPolicy", "summary": "Replace the policy history with an export (checked)",
            "requestBody": {"required": True, "content": {"application/json": {"schema": {"type": "object"}}}},
            "responses": {"200": js(obj({"versions": {"type": "integer"}}, ["versions"])),
                          "400": problem("Not an export."), "422": problem("A version does not load.")}},
            scope="policy:write", body=True)},
        "/api/v1/audit": {"get": protected({
            "operationId": "audit", "summary": "The audit log (admin): who did what and when, oldest first",
            "parameters": [{"name": "from", "in": "query", "schema": {"type": "integer", "minimum": 0}},
                           {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 1000}}],
            "responses": {"200": js(obj({"entries": {"type": "array", "items": obj({
                "seq": {"type": "integer"}, "at": {"type": "string"}, "who": {"type": "string"},
                "action": {"type": "string"}, "detail": {"type": "string"}})},
                "next": {"type": ["integer", "null"]}}, ["entries", "next"])),
                          "400": problem("Bad query.")}}, scope="admin")},
        "/api/v1/principals": {
            "get": protected({"operationId": "principals", "summary": "Clients and users (admin; never secrets)",
                              "responses": {"200": js(obj({"principals": {"type": "array", "items": obj({
                                  "kind": {"enum": ["client", "user"]}, "name": {"type": "string"},
                                  "scopes": {"type": "array", "items": {"type": "string"}}, "tier": {"type": "string"},
                                  "maxScansPerDay": {"type": "integer"}, "tid": {"type": "string"},
                                  "created": {"type": "string"}, "disabled": {"type": "boolean"}},
                                  ["kind", "name", "scopes", "tier", "maxScansPerDay", "tid"])}}, ["principals"]))}},
                             scope="admin"),
            "post": protected({"operationId": "addPrincipal", "summary": "Add a client (its secret is in the answer, once) or a user (admin)",
                               "requestBody": {"required": True, "content": {"application/json": {"schema": obj({
                                   "kind": {"enum": ["client", "user"]}, "name": {"type": "string"},
                                   "scopes": {"type": "array", "items": {"enum": ["scan", "policy:write", "admin"]}},
                                   "tier": {"type": "string"}, "maxScansPerDay": {"type": "integer", "minimum": 0},
                                   "password": {"type": "string", "minLength": 12},
                                   "tenants": {"type": "object", "additionalProperties": ROLE,
                                               "description": "Tenant id → role; default: the default tenant (an admin there, limited by the scopes)."},
                                   "installationAdmin": {"type": "boolean"}}, ["kind", "name"], extra=False),
                                   "example": {"kind": "client", "name": "ci-pipeline", "scopes": ["scan"]}}}},
                               "responses": {"201": js(obj({"kind": {"type": "string"}, "name": {"type": "string"},
                                                            "clientSecret": {"type": "string"}}, ["kind", "name"]), "Added."),
                                             "400": problem("Not a principal."),
                                             "409": problem("It exists already."),
                                             "422": problem("A bad name, scope or password.")}}, scope="admin", body=True),
        },
        "/api/v1/principals/{kind}/{name}": {"delete": protected({
            "operationId": "removePrincipal", "summary": "Remove a client or user (admin); the tokens it holds stop counting at once",
            "parameters": [{"name": "kind", "in": "path", "required": True, "schema": {"enum": ["client", "user"]}},
                           {"name": "name", "in": "path", "required": True, "schema": {"type": "string"}}],
            "responses": {"204": {"description": "Removed."}, "404": problem("No such principal.")}}, scope="admin")},
        "/api/v1/tenants": {
            "get": protected({"operationId": "tenants", "summary": "Tenants: every one (installation admins) or the caller's own, with its role there",
                              "responses": {"200": js(obj({"current": {"type": "string"}, "tenants": {"type": "array", "items": obj({
                                  "id": {"type": "string"}, "name": {"type": "string"}, "created": {"type": "string"},
                                  "role": {"type": ["string", "null"]}, "members": {"type": "integer"},
                                  "dailyScans": DAILY_SCANS},
                                  ["id", "name", "members"])}}, ["tenants", "current"]))}}),
            "post": protected({"operationId": "addTenant", "summary": "Create a tenant (installation admin)",
                               "requestBody": {"required": True, "content": {"application/json": {"schema": obj({
                                   "id": TENANT_ID, "name": {"type": "string"}, "dailyScans": DAILY_SCANS}, ["id"], extra=False),
                                   "example": {"id": "payments", "name": "Payments team", "dailyScans": 2000}}}},
                               "responses": {"201": js(obj({"id": {"type": "string"}, "name": {"type": "string"},
                                                            "dailyScans": DAILY_SCANS}, ["id", "name"]), "Created."),
                                             "409": problem("It exists already."),
                                             "422": problem("Not a tenant id.")}}, scope="admin", body=True),
        },
        "/api/v1/tenants/{id}": {"patch": protected({
            "operationId": "updateTenant", "summary": "Set or lift a tenant's daily cap over all its tokens (installation admin)",
            "parameters": [{"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}],
            "requestBody": {"required": True, "content": {"application/json": {"schema": obj(
                {"dailyScans": DAILY_SCANS}, ["dailyScans"], extra=False), "example": {"dailyScans": 2000}}}},
            "responses": {"200": js(obj({"id": {"type": "string"}, "dailyScans": DAILY_SCANS}, ["id", "dailyScans"])),
                          "400": problem("Not a cap."), "404": problem("No such tenant.")}}, scope="admin", body=True),
                               "delete": protected({
            "operationId": "removeTenant", "summary": "Remove a tenant nobody belongs to any more (installation admin)",
            "parameters": [{"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}],
            "responses": {"204": {"description": "Removed."}, "404": problem("No such tenant."),
                          "422": problem("It still has members, or it is the default tenant.")}}, scope="admin")},
        "/api/v1/tenants/{id}/members": {"get": protected({
            "operationId": "tenantMembers", "summary": "Who belongs to a tenant, with which role (its admins, installation admins)",
            "parameters": [{"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}],
            "responses": {"200": js(obj({"tenant": {"type": "string"}, "members": {"type": "array", "items": obj({
                "kind": {"enum": ["client", "user"]}, "name": {"type": "string"}, "role": ROLE,
                "disabled": {"type": "boolean"}}, ["kind", "name", "role"])}}, ["tenant", "members"])),
                          "404": problem("No such tenant.")}}, scope="admin")},
        "/api/v1/tenants/{id}/members/{kind}/{name}": {
            "put": protected({
                "operationId": "putTenantMember", "summary": "Add a principal to a tenant or change its role (its admins)",
                "parameters": [{"name": "id", "in": "path", "required": True, "schema": {"type": "string"}},
                               {"name": "kind", "in": "path", "required": True, "schema": {"enum": ["client", "user"]}},
                               {"name": "name", "in": "path", "required": True, "schema": {"type": "string"}}],
                "requestBody": {"required": True, "content": {"application/json": {"schema": obj({"role": ROLE}, ["role"], extra=False)}}},
                "responses": {"200": js(obj({"tenant": {"type": "string"}, "kind": {"type": "string"},
                                             "name": {"type": "string"}, "role": ROLE}, ["tenant", "kind", "name", "role"])),
                              "404": problem("No such principal or kind."),
                              "422": problem("No such tenant.")}}, scope="admin", body=True),
            "delete": protected({
                "operationId": "removeTenantMember", "summary": "End a principal's membership of a tenant (its admins); it counts from the next request",
                "parameters": [{"name": "id", "in": "path", "required": True, "schema": {"type": "string"}},
                               {"name": "kind", "in": "path", "required": True, "schema": {"enum": ["client", "user"]}},
                               {"name": "name", "in": "path", "required": True, "schema": {"type": "string"}}],
                "responses": {"204": {"description": "Removed."}, "404": problem("Not a member, or no such principal.")}}, scope="admin"),
        },
        "/api/v1/principals/{kind}/{name}/unlock": {"post": protected({
            "operationId": "unlockPrincipal", "summary": "Forget a principal's failed logins from every address (installation admin): it may log in again at once",
            "parameters": [{"name": "kind", "in": "path", "required": True, "schema": {"enum": ["client", "user"]}},
                           {"name": "name", "in": "path", "required": True, "schema": {"type": "string"}}],
            "responses": {"204": {"description": "Unlocked."}, "404": problem("No such principal.")}}, scope="admin")},
        "/api/v1/keys/rotate": {"post": protected({
            "operationId": "rotateKey", "summary": "Sign with a new key from now on (installation admin); earlier tokens stay valid unless `revoke=true`",
            "parameters": [{"name": "revoke", "in": "query", "schema": {"type": "boolean"},
                            "description": "Also drop every earlier key: the tokens they signed stop counting at once."}],
            "responses": {"200": js(obj({"kid": {"type": "string"}, "revoked": {"type": "integer"}}, ["kid", "revoked"])),
                          "400": problem("A query parameter does not parse.")}}, scope="admin")},
        "/api/v1/attest": {"post": protected({
            "operationId": "attest", "summary": "Core's signature over a stored scan of the caller's tenant: its scan result and verdict (`vuln`) or SLSA provenance of the result (`slsa`), as an in-toto attestation",
            "parameters": [{"name": "format", "in": "query", "schema": {"enum": ["dsse", "bundle"]},
                            "description": "A bare DSSE envelope (default) or a Sigstore bundle v0.3."}],
            "requestBody": {"required": True, "content": {"application/json": {"schema": obj(
                {"scan": {"type": "string", "description": "A scan id of the caller's tenant."},
                 "type": {"enum": ["vuln", "slsa"], "default": "vuln"}}, ["scan"], extra=False)}}},
            "responses": {"200": {"description": "The signed statement; verify with `stella attest verify --key` and a key of /api/v1/attest/keys.",
                                  "content": {"application/vnd.dsse.envelope.v1+json": {"schema": obj(
                                      {"payloadType": {"type": "string"}, "payload": {"type": "string"},
                                       "signatures": {"type": "array"}}, ["payloadType", "payload", "signatures"])},
                                              "application/vnd.dev.sigstore.bundle.v0.3+json": {"schema": obj(
                                      {"mediaType": {"type": "string"}, "verificationMaterial": {"type": "object"},
                                       "dsseEnvelope": {"type": "object"}}, ["mediaType", "verificationMaterial", "dsseEnvelope"])}}},
                          "400": problem("Not an attestation request, or an unknown type or format."),
                          "404": problem("No such scan in the caller's tenant."),
                          "422": problem("The scan's target has no digest to name the attestation by (an SBOM scan).")}}, body=True)},
        "/api/v1/attest/keys": {"get": {
            "operationId": "attestKeys", "summary": "The keys Core's attestations verify with (public; rotated keys stay listed)",
            "responses": {"200": js(obj({"keys": {"type": "array", "items": obj({
                "keyId": {"type": "string"}, "algorithm": {"enum": ["ecdsa-p256", "ed25519"]},
                "publicKey": {"type": "string", "description": "SPKI PEM."}, "created": {"type": "string"},
                "active": {"type": "boolean"}}, ["keyId", "algorithm", "publicKey", "created", "active"])}}, ["keys"]))}}},
        "/api/v1/attest/keys/rotate": {"post": protected({
            "operationId": "rotateAttestKey", "summary": "Sign attestations with a new key from now on (installation admin); earlier keys stay published",
            "responses": {"200": js(obj({"keyId": {"type": "string"}, "algorithm": {"type": "string"},
                                         "publicKey": {"type": "string"}, "created": {"type": "string"},
                                         "active": {"type": "boolean"}}, ["keyId", "publicKey"]))}}, scope="admin")},
        "/api/v1/ouk": {"post": protected({
            "operationId": "importKit", "summary": "Verify an Offline Update Kit and install its DB atomically (installation admin; docs/air-gap.md)",
            "parameters": [{"name": "force", "in": "query", "schema": {"type": "boolean"},
                            "description": "Install a kit whose DB is older than the one in use (a deliberate rollback)."}],
            "requestBody": {"required": True, "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}},
            "responses": {"200": js(obj({"built": {"type": "string"}, "digest": {"type": "string"},
                                         "changed": {"type": "boolean"}, "previous": {"type": ["string", "null"]},
                                         "signedBy": {"type": "string"}, "created": {"type": "string"}},
                                        ["built", "digest", "changed"])),
                          "409": problem("No kit key configured (`--kit-key`), or the kit is older than the DB in use or for another installation; nothing changed."),
                          "422": problem("The kit is not signed by a trusted key, damaged, truncated, or holds what its manifest does not list; nothing changed.")}},
                scope="admin", body=True)},
        "/api/v1/feeds": {"get": protected({
            "operationId": "feeds", "summary": "The DB's feeds and how old they are",
            "responses": {"200": js(obj({"built": {"type": "string"}, "ageSeconds": {"type": ["integer", "null"]},
                                         "digest": {"type": "string"}, "feeds": {"type": "object"}},
                                        ["built", "digest", "feeds"]))}})},
        "/api/v1/feeds/update": {"post": protected({
            "operationId": "feedsUpdate", "summary": "Load the DB file again (after `stella db update` or an offline kit)",
            "responses": {"200": js(obj({"built": {"type": "string"}, "digest": {"type": "string"}}, ["built", "digest"])),
                          "422": problem("The file is not a valid DB; the one in use stays.")}}, scope="admin")},
        "/api/v1/jobs": {"get": protected({
            "operationId": "jobs", "summary": "The scheduler's jobs: schedule, next run, last run",
            "responses": {"200": js(obj({"jobs": {"type": "array", "items": obj({
                "name": {"enum": ["feeds", "rescan"]}, "schedule": {"type": ["string", "null"]},
                "after": {"type": ["string", "null"]}, "next": {"type": ["string", "null"]},
                "running": {"type": "boolean"}, "lastRun": {"type": ["object", "null"]}},
                ["name", "running"])}}, ["jobs"]))}})},
        "/api/v1/jobs/runs": {"get": protected({
            "operationId": "jobRuns", "summary": "The run history, newest first",
            "parameters": [{"name": "job", "in": "query", "schema": {"type": "string"}},
                           {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 0}}],
            "responses": {"200": js(obj({"runs": {"type": "array", "items": {"type": "object"}}}, ["runs"])),
                          "400": problem("A query parameter does not parse."),
                          "404": problem("No such job.")}})},
        "/api/v1/jobs/{name}/run": {"post": protected({
            "operationId": "runJob", "summary": "Run a job now, in the background (admin)",
            "parameters": [{"name": "name", "in": "path", "required": True, "schema": {"type": "string"}}],
            "responses": {"202": js(obj({"job": {"type": "string"}, "runs": {"type": "string"}}, ["job", "runs"]),
                                    "Started; follow the run history."),
                          "404": problem("No such job."),
                          "409": problem("The job is running already, or (feeds) Core has no feed list."),
                          "503": problem("This Core runs no scheduler.")}}, scope="admin")},
        "/api/v1/criticals": {"get": protected({
            "operationId": "criticals", "summary": "Images whose latest re-scan found new criticals",
            "responses": {"200": js(obj({"runId": {"type": ["string", "null"]}, "at": {"type": ["string", "null"]},
                                         "images": {"type": "array", "items": {"type": "object"}}},
                                        ["images"]))}})},
    },
}

text = json.dumps(doc, indent=2, ensure_ascii=False) + "\n"
if "--check" in sys.argv:
    with open(OUT) as f:
        if f.read() != text:
            sys.exit("docs/openapi.json is stale: run scripts/openapi.py")
    print("docs/openapi.json is up to date")
else:
    with open(OUT, "w") as f:
        f.write(text)
    print(f"wrote {OUT}")
