"""Prolific's published OpenAPI description reduced to a machine-made table the local Prolific checks against.

The local Prolific must answer what the real service answers, and the only outside authority on
that is Prolific's OpenAPI 3.0 description. Reading 9,000 lines of YAML at every request (and
shipping PyYAML's reading of it in the wheel) is not needed: this script keeps only the facts a
check uses — per operation the query/path parameters, the JSON request body and each response
status's schema — as JSON Schema that `jsonschema` applies directly ($refs kept once under
`$defs`, OpenAPI's `nullable` rewritten, prose dropped). `conformance.py` reads the result.

    python -m babe_prolific.local.spectable [--spec PATH] [--check]

The spec contradicts itself in places; `LENIENCIES` below relaxes each such place (never
tightens), and the table lists them so a reader of a refusal can see what was relaxed and why.
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import json
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[3]
DEFAULT_SPEC = ROOT.parent / "shared" / "reference" / "prolific-openapi.yml"
TABLE = Path(__file__).with_name("openapi_table.json")
PREFIX = "/api/v1"
METHODS = ("get", "put", "post", "patch", "delete")
COMPONENTS = "#/components/schemas/"

#: JSON Schema keywords a check needs; everything else (description, example, title, default,
#: deprecated, discriminator, x-*) is prose or code-generation hints and is dropped.
_KEEP = {
    "type", "enum", "required", "minimum", "maximum", "minLength", "maxLength",
    "minItems", "maxItems", "uniqueItems", "pattern", "multipleOf", "minProperties", "maxProperties", "readOnly",
    "writeOnly",
}
#: The only format worth checking on the wire: timestamps a client parses. ids (uuid, objectId),
#: emails and URIs are the service's own business and are not checked.
_FORMATS = {"date-time"}


# -- leniencies: where the spec contradicts itself, accept both readings --------------------------
def _study_status_from_state_filter(spec: dict) -> None:
    # GET /studies/?state= lists PUBLISHING (and UNKNOWN) among a study's statuses, and publishing
    # passes through PUBLISHING, but Study.status and StudyShort.status omit them.
    states = _parameter(spec, "/studies/", "get", "state")["schema"]["enum"]
    schemas = spec["components"]["schemas"]
    for status in (schemas["Study"]["allOf"][0]["properties"]["status"], schemas["StudyShort"]["properties"]["status"]):
        status["enum"] = _union(status["enum"], states)


def _submission_status_union(spec: dict) -> None:
    # SubmissionShort.status says TIME-OUT and lacks PARTIALLY APPROVED where Submission says
    # TIMED-OUT and SubmissionDetail has PARTIALLY APPROVED: one submission, three spellings.
    schemas = spec["components"]["schemas"]
    statuses = [schemas[name]["properties"]["status"] for name in ("SubmissionShort", "Submission", "SubmissionDetail")]
    every: list[str] = []
    for status in statuses:
        every = _union(every, status["enum"])
    for status in statuses:
        status["enum"] = list(every)


def _code_type_free_text(spec: dict) -> None:
    # completion_codes[].code_type: its own description allows "one of the predefined options or
    # any other free text", while its enum lists the predefined ones only.
    code = spec["components"]["schemas"]["BaseStudy"]["properties"]["completion_codes"]["items"]
    del code["properties"]["code_type"]["enum"]


def _state_filter_format(spec: dict) -> None:
    # GET /studies/?state=: the description gives the format "(active|published|...)" (several
    # statuses, lower case) while the enum lists single upper-case ones. Both are accepted.
    schema = _parameter(spec, "/studies/", "get", "state")["schema"]
    words = "|".join(re.escape(v) for value in schema["enum"] for v in dict.fromkeys((value, value.lower())))
    pattern = rf"^\(?(?:{words})(?:\|(?:{words}))*\)?$"
    _parameter(spec, "/studies/", "get", "state")["schema"] = {"anyOf": [schema, {"type": "string", "pattern": pattern}]}


def _object_query_parameters(spec: dict) -> None:
    # GET /participant-groups/ has a required object-valued query parameter `filter`. Its OpenAPI
    # serialisation (form, exploded) puts the members at the top of the query (workspace_id=…),
    # while a client generated from this very spec (pyrolific) sends `filter=<object>`: neither
    # form is refused, and the handler reads the members it needs.
    for item in spec["paths"].values():
        for method in METHODS:
            for parameter in item.get(method, {}).get("parameters", []):
                schema = parameter.get("schema", {})
                if parameter.get("in") == "query" and ("properties" in schema or "oneOf" in schema or schema.get("type") == "object"):
                    parameter["required"] = False
                    parameter["schema"] = {}


def _patch_is_a_delta(spec: dict) -> None:
    # The spec defines PATCH as applying a delta, yet PATCH /workspaces/{id}/ and /projects/{id}/
    # reuse whole resources as their body, whose `required` lists the id Prolific creates.
    # Marked here; `conformance.py` does not apply `required` to a partial body.
    for item in spec["paths"].values():
        if "requestBody" in item.get("patch", {}):
            item["patch"]["requestBody"]["x-partial"] = True


def _either_error_shape(spec: dict) -> None:
    # Errors: most operations document the wrapped `Error` ({"error": {...}}) and some the bare
    # `ErrorDetail`, for one API with one error format. Either shape is accepted for both.
    schemas = spec["components"]["schemas"]
    schemas["AnyError"] = {"anyOf": [{"$ref": COMPONENTS + "Error"}, {"$ref": COMPONENTS + "ErrorDetail"}]}
    for item in spec["paths"].values():
        for method in METHODS:
            for status, response in item.get(method, {}).get("responses", {}).items():
                for media in (response.get("content") or {}).values():
                    if media.get("schema", {}).get("$ref") in (COMPONENTS + "Error", COMPONENTS + "ErrorDetail") and status[0] in "45":
                        media["schema"] = {"$ref": COMPONENTS + "AnyError"}


def _one_of_as_any_of(spec: dict) -> None:
    # `oneOf` demands exactly one matching branch, but this spec's branches overlap: Attribute.value
    # allows null in four branches, and the open objects of the bulk-approve body both match a body
    # carrying both forms' members. Checked as `anyOf`.
    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if "oneOf" in node:
                node["anyOf"] = node.pop("oneOf")
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(spec)


def _closed_all_of(spec: dict) -> None:
    # The mutually exclusive study collection schemas are `additionalProperties: false` beside an
    # `allOf` of one another: JSON Schema reads that as "only the sibling properties", so the
    # spec's own examples (name, project_id, study_ids) would be refused. Closed objects built by
    # `allOf` are left open, as their authors evidently meant the union of the members.
    schemas = spec["components"]["schemas"]
    closed = [name for name, schema in schemas.items() if schema.get("additionalProperties") is False and "allOf" in schema]
    for name in closed:
        for part in schemas[name]["allOf"]:
            ref = part.get("$ref", "").removeprefix(COMPONENTS)
            if schemas.get(ref, {}).get("additionalProperties") is False:
                del schemas[ref]["additionalProperties"]
        del schemas[name]["additionalProperties"]


def _confirm_with_secret(spec: dict) -> None:
    # POST /hooks/subscriptions/{id}/ confirms a subscription: the Hooks guide's body is
    # {"secret": <X-Hook-Secret>}, the operation's schema a whole SubscriptionDetail (with required
    # event_type, target_url, workspace_id). Either body is accepted.
    media = spec["paths"][PREFIX + "/hooks/subscriptions/{subscription_id}/"]["post"]["requestBody"]["content"]["application/json"]
    media["schema"] = {"anyOf": [media["schema"], {"type": "object", "required": ["secret"], "properties": {"secret": {"type": "string"}}}]}


#: (id, the places touched, function). Each function says why in its comment.
LENIENCIES: list[tuple[str, str, Callable[[dict], None]]] = [
    ("study-status-from-state-filter", "Study.status, StudyShort.status", _study_status_from_state_filter),
    ("submission-status-union", "SubmissionShort.status, Submission.status, SubmissionDetail.status", _submission_status_union),
    ("code-type-free-text", "BaseStudy.completion_codes[].code_type", _code_type_free_text),
    ("state-filter-format", "GET /studies/ ?state", _state_filter_format),
    ("object-query-parameters", "GET /participant-groups/ ?filter", _object_query_parameters),
    ("patch-is-a-delta", "PATCH request bodies", _patch_is_a_delta),
    ("either-error-shape", "every 4XX answer", _either_error_shape),
    ("one-of-as-any-of", "every oneOf", _one_of_as_any_of),
    ("closed-all-of", "MutuallyExclusiveStudyCollection* schemas", _closed_all_of),
    ("confirm-with-secret", "POST /hooks/subscriptions/{id}/ body", _confirm_with_secret),
]
#: One line of why per leniency, recorded in the table (the comments above say it at length).
WHY = {
    "study-status-from-state-filter": "the state filter lists PUBLISHING and UNKNOWN, the study schemas do not",
    "submission-status-union": "TIME-OUT vs TIMED-OUT and PARTIALLY APPROVED differ between the three submission schemas",
    "code-type-free-text": "its description allows any free text beside the enum's values",
    "state-filter-format": "the description gives '(active|published|...)', the enum single upper-case values",
    "object-query-parameters": "spec serialisation spreads the members, generated clients send filter=<object>; members left to the handler",
    "patch-is-a-delta": "PATCH applies a delta, but some PATCH bodies reuse whole resources with required ids",
    "either-error-shape": "some operations document the bare ErrorDetail, most the wrapped Error",
    "one-of-as-any-of": "oneOf branches overlap (null in four branches, open objects), so exactly-one refuses documented values",
    "closed-all-of": "additionalProperties false beside allOf refuses the members the allOf adds (the spec's own examples)",
    "confirm-with-secret": "the Hooks guide confirms with {\"secret\"}, the schema asks for a whole SubscriptionDetail",
}


def _parameter(spec: dict, path: str, method: str, name: str) -> dict:
    return next(p for p in spec["paths"][PREFIX + path][method]["parameters"] if p.get("name") == name)


def _union(first: list, second: list) -> list:
    return list(dict.fromkeys([*first, *second]))


# -- OpenAPI schema -> JSON Schema ------------------------------------------------------------------
def _schema(node: Any, used: set[str]) -> Any:
    """One OpenAPI 3.0 schema object as JSON Schema (2020-12), noting the components it refers to."""
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        name = node["$ref"].removeprefix(COMPONENTS)
        used.add(name)
        ref = {"$ref": "#/$defs/" + name}
        rest = {k: v for k, v in node.items() if k != "$ref"}
        # OpenAPI 3.0 ignores a $ref's siblings; honouring `nullable` there can only accept more.
        return _nullable(ref) if rest.get("nullable") else ref
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in _KEEP:
            out[key] = copy.deepcopy(value)
        elif key == "format" and value in _FORMATS:
            out[key] = value
        elif key == "properties":
            out[key] = {name: _schema(sub, used) for name, sub in value.items()}
        elif key in ("items", "not", "additionalProperties"):
            out[key] = _schema(value, used)
        elif key in ("allOf", "anyOf", "oneOf"):
            out[key] = [_schema(sub, used) for sub in value]
    if node.get("nullable") or node.get("x-nullable"):
        out = _nullable(out)
    return out


def _nullable(schema: dict) -> dict:
    """OpenAPI's `nullable: true`: null is allowed too (in the enum as well, if there is one)."""
    if isinstance(schema.get("type"), str) and "$ref" not in schema:
        out = dict(schema, type=[schema["type"], "null"])
        if "enum" in out and None not in out["enum"]:
            out["enum"] = [*out["enum"], None]
        return out
    return {"anyOf": [schema, {"type": "null"}]}


def _parameters(operation: dict, path_item: dict, used: set[str]) -> list[dict]:
    merged = {(p["in"], p["name"]): p for p in [*path_item.get("parameters", []), *operation.get("parameters", [])]}
    return [
        {"name": p["name"], "in": p["in"], "required": bool(p.get("required", False)), "schema": _schema(p.get("schema", {}), used)}
        for p in merged.values()
        if p["in"] in ("query", "path")
    ]


def _operation(operation: dict, path_item: dict, used: set[str]) -> dict:
    entry: dict[str, Any] = {"parameters": _parameters(operation, path_item, used), "request": None, "responses": {}}
    body = operation.get("requestBody")
    media = (body or {}).get("content", {}).get("application/json")
    if media is not None:
        entry["request"] = {
            "required": bool(body.get("required", False)),
            "partial": bool(body.get("x-partial", False)),
            "schema": _schema(media.get("schema", {}), used),
        }
    for status, response in operation.get("responses", {}).items():
        entry["responses"][str(status)] = {
            kind: _schema(media.get("schema", {}), used) for kind, media in (response.get("content") or {}).items()
        }
    return entry


def _closure(schemas: dict, names: set[str]) -> dict:
    """The named definitions the operations reach, each converted once."""
    defs: dict[str, Any] = {}
    todo = sorted(names)
    while todo:
        name = todo.pop()
        if name in defs:
            continue
        found: set[str] = set()
        defs[name] = _schema(schemas[name], found)
        todo.extend(sorted(found - set(defs)))
    return dict(sorted(defs.items()))


def build(spec_text: str) -> dict:
    """The table for one spec text (deterministic: the same text gives the same table)."""
    import yaml

    spec = yaml.safe_load(spec_text)
    applied = []
    for ident, where, apply in LENIENCIES:
        apply(spec)
        applied.append({"id": ident, "where": where, "why": WHY[ident]})
    used: set[str] = set()
    operations: dict[str, Any] = {}
    for path, item in spec["paths"].items():
        if not path.startswith(PREFIX + "/"):
            continue
        for method in METHODS:
            if method in item:
                operations[f"{method.upper()} {path[len(PREFIX):]}"] = _operation(item[method], item, used)
    return {
        "source": {
            "openapi": spec.get("openapi"),
            "version": spec.get("info", {}).get("version"),
            "sha256": hashlib.sha256(spec_text.encode()).hexdigest(),
        },
        "prefix": PREFIX,
        "leniencies": applied,
        "operations": dict(sorted(operations.items(), key=lambda kv: (kv[0].split(" ", 1)[1], kv[0]))),
        "$defs": _closure(spec["components"]["schemas"], used),
    }


def render(table: dict) -> str:
    return json.dumps(table, indent=1, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m babe_prolific.local.spectable", description=__doc__.split("\n\n")[0])
    parser.add_argument("--spec", type=Path, default=DEFAULT_SPEC, help=f"the OpenAPI YAML (default {DEFAULT_SPEC})")
    parser.add_argument("--check", action="store_true", help="exit 1 when the table on disk differs from what the spec makes")
    parser.add_argument("--table", type=Path, default=TABLE, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if not args.spec.is_file():
        print(f"spectable: no spec at {args.spec} (give --spec PATH)", file=sys.stderr)
        return 2
    text = render(build(args.spec.read_text(encoding="utf-8")))
    if args.check:
        current = args.table.read_text(encoding="utf-8") if args.table.is_file() else ""
        if current != text:
            print(f"spectable: {args.table} is out of date with {args.spec}; run python -m babe_prolific.local.spectable", file=sys.stderr)
            return 1
        print(f"spectable: {args.table.name} matches {args.spec.name}")
        return 0
    args.table.write_text(text, encoding="utf-8")
    table = json.loads(text)
    print(f"spectable: wrote {args.table} ({len(table['operations'])} operations, {len(table['$defs'])} definitions, {len(text)} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
