"""Checks docs/openapi.json against a live service: every documented path is
called, and each answer (status code, and body against the documented
schema, JSON Schema 2020-12 as OpenAPI 3.1 uses it) must be as documented.
Called by test_console.sh: check_openapi.py API_URL DONE REFUSED PENDING RECIPE_FILE INPUTS_JSON."""
import json
import sys
import urllib.error
import urllib.request

from jsonschema import Draft202012Validator

api, done, refused, pending, recipe_file, inputs_json = sys.argv[1:7]
doc = json.load(open(sys.argv[7] if len(sys.argv) > 7 else "openapi.json"))
failures = []
called = set()


def call(method, path, body=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(api + path, data=data, method=method,
                                 headers={"Content-Type": "application/json"} if data else {})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


def check(method, path, template, want_status, body=None):
    status, headers, raw = call(method, path, body)
    called.add((method.lower(), template))
    what = f"{method} {path}"
    if status != want_status:
        failures.append(f"{what}: HTTP {status}, expected {want_status}: {raw[:200]!r}")
        return None
    op = doc["paths"][template][method.lower()]
    resp = op["responses"].get(str(status))
    if resp is None:
        failures.append(f"{what}: status {status} is not documented")
        return None
    media = resp.get("content", {})
    if "application/json" in media:
        if not headers.get("Content-Type", "").startswith("application/json"):
            failures.append(f"{what}: content type {headers.get('Content-Type')}")
        value = json.loads(raw)
        schema = dict(doc)
        schema["$ref"] = media["application/json"]["schema"].get("$ref", "#/paths/" +
                                                                  template.replace("~", "~0").replace("/", "~1") +
                                                                  f"/{method.lower()}/responses/{status}/content/" +
                                                                  "application~1json/schema")
        errors = sorted(Draft202012Validator(schema).iter_errors(value), key=lambda e: list(e.path))
        for e in errors[:5]:
            failures.append(f"{what}: {'/'.join(map(str, e.path))}: {e.message[:300]}")
        print(f"{'ok' if not errors else 'FAIL'}: {what} -> {status}")
        return value, headers
    print(f"ok: {what} -> {status}")
    return raw, headers


runs, _ = check("GET", "/v1/runs", "/v1/runs", 200)
ids = {r["id"] for r in runs["runs"]} if runs else set()
if not {done, refused, pending} <= ids:
    failures.append(f"/v1/runs lacks one of the runs: {ids}")
for rid in (done, refused, pending):
    check("GET", f"/v1/runs/{rid}", "/v1/runs/{id}", 200)
check("GET", "/v1/runs/run-000000000000000000000000", "/v1/runs/{id}", 404)
v, _ = check("GET", f"/v1/runs/{done}/verification", "/v1/runs/{id}/verification", 200)
if v and not v["valid"]:
    failures.append(f"verification of the done run is not valid: {v}")
check("GET", f"/v1/runs/{pending}/verification", "/v1/runs/{id}/verification", 409)
check("GET", "/v1/runs/run-000000000000000000000000/verification", "/v1/runs/{id}/verification", 404)
check("GET", "/v1/consortia", "/v1/consortia", 200)
for rid in (done, refused, pending):
    h = json.loads(call("GET", f"/v1/runs/{rid}")[2])["compose_hash"]
    check("GET", f"/v1/gate?compose_hash={h}", "/v1/gate", 200)
check("GET", "/v1/gate?compose_hash=00", "/v1/gate", 400)
check("GET", "/v1/attestation", "/v1/attestation", 200)
check("GET", "/v1/attestation?nonce=" + "ab" * 32, "/v1/attestation", 200)
check("GET", "/v1/attestation?nonce=zz", "/v1/attestation", 400)
check("GET", "/v1/health", "/v1/health", 200)
served, _ = check("GET", "/v1/openapi.json", "/v1/openapi.json", 200)
if served is not None and served != doc:
    failures.append("/v1/openapi.json is not docs/openapi.json")
check("GET", "/", "/", 200)
check("POST", "/v1/runs", "/v1/runs", 400, {"compose": "not a recipe", "inputs": {}})
got = check("POST", "/v1/runs", "/v1/runs", 202,
            {"compose": open(recipe_file).read(), "inputs": json.loads(inputs_json)})
if got and got[1].get("Location") != "/v1/runs/" + got[0]["id"]:
    failures.append(f"POST /v1/runs: Location {got[1].get('Location')}")

documented = {(m, p) for p, ops in doc["paths"].items() for m in ops}
missing = documented - called
if missing:
    failures.append(f"documented but not exercised: {sorted(missing)}")
for f in failures:
    print("FAIL:", f, file=sys.stderr)
sys.exit(1 if failures else 0)
