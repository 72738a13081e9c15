#!/usr/bin/env python3
"""Writes kubeconform's strict, standalone JSON schemas offline.

Input: the Kubernetes OpenAPI v2 spec (api/openapi-spec/swagger.json of the Go
module k8s.io/kubernetes) and CustomResourceDefinition YAML files (KEDA's, from
its Go module). Output: OUT/v<VERSION>-standalone-strict/<kind>-<group>-<version>.json,
the layout kubeconform reads with `-schema-location OUT -kubernetes-version
<VERSION> -strict` (group is the first label of the API group; core: none).

Each file holds one kind's schema and, under `definitions`, every definition it
reaches, so it needs no other file. Strict means what `kubectl --validate`
means: an object that lists its properties accepts no others, so a misspelt or
misplaced field fails. Two value types are widened to what the API server
accepts: int-or-string, and resource quantities (`cpu: 1` as well as "1").

Usage: k8s-schemas.py SWAGGER_JSON VERSION OUT [CRD_YAML...]
Needs PyYAML only for CRDs (the deploy-checks venv has it through checkov).
"""
import copy
import json
import os
import sys

QUANTITY = "io.k8s.apimachinery.pkg.api.resource.Quantity"
OBJECT_META = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"
REF_PREFIX = "#/definitions/"
INT_OR_STRING = {"oneOf": [{"type": "string"}, {"type": "integer"}]}
NUMBER_OR_STRING = {"oneOf": [{"type": "string"}, {"type": "number"}]}


def schema_file_name(kind, group, version):
    suffix = "-" + group.split(".")[0].lower() if group else ""
    return f"{kind.lower()}{suffix}-{version.lower()}.json"


def refs_in(node):
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith(REF_PREFIX):
            yield ref[len(REF_PREFIX):]
        for value in node.values():
            yield from refs_in(value)
    elif isinstance(node, list):
        for value in node:
            yield from refs_in(value)


def closure(definitions, roots):
    """Names of the definitions reachable from `roots`, roots included."""
    seen, todo = set(), list(roots)
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        todo.extend(refs_in(definitions[name]))
    return seen


def tighten(node, *, crd):
    """Strict and widened copy of one schema node (see the module doc)."""
    if isinstance(node, list):
        return [tighten(item, crd=crd) for item in node]
    if not isinstance(node, dict):
        return node
    if node.get("format") == "int-or-string" or node.get("x-kubernetes-int-or-string") is True:
        return copy.deepcopy(INT_OR_STRING)
    out = {}
    for key, value in node.items():
        if key == "description":
            continue  # kubeconform never shows them; dropping them halves the size
        # Property names and enum values are data, not schemas.
        if key == "properties":
            out[key] = {name: tighten(prop, crd=crd) for name, prop in value.items()}
        elif key in ("enum", "required", "example", "default"):
            out[key] = value
        else:
            out[key] = tighten(value, crd=crd)
    if crd and out.pop("nullable", False) and isinstance(out.get("type"), str):
        out["type"] = [out["type"], "null"]
    preserves_unknown = out.get("x-kubernetes-preserve-unknown-fields") is True
    if "properties" in out and "additionalProperties" not in out and not preserves_unknown:
        out["additionalProperties"] = False
    return out


def tightened_definitions(definitions):
    tight = {name: tighten(schema, crd=False) for name, schema in definitions.items()}
    tight[QUANTITY] = copy.deepcopy(NUMBER_OR_STRING)
    return tight


def standalone(root, definitions, roots):
    doc = dict(root)
    doc["definitions"] = {name: definitions[name] for name in sorted(closure(definitions, roots))}
    return doc


def write(path, doc):
    with open(path, "w", encoding="utf-8") as f:
        json.dump(doc, f, separators=(",", ":"), sort_keys=True)


def kubernetes_schemas(definitions):
    """(file name, schema) for every kind of the spec."""
    for name, schema in definitions.items():
        for gvk in schema.get("x-kubernetes-group-version-kind", []):
            doc = standalone({"$ref": REF_PREFIX + name}, definitions, [name])
            yield schema_file_name(gvk["kind"], gvk["group"], gvk["version"]), doc


def crd_schemas(path, definitions):
    import yaml  # only needed here

    with open(path, encoding="utf-8") as f:
        docs = [d for d in yaml.safe_load_all(f) if d and d.get("kind") == "CustomResourceDefinition"]
    for crd in docs:
        spec = crd["spec"]
        for version in spec["versions"]:
            schema = version.get("schema", {}).get("openAPIV3Schema")
            if schema is None:
                continue
            root = tighten(schema, crd=True)
            # A CRD's schema leaves metadata open; the API server checks it as
            # ObjectMeta, and so does this schema.
            root.setdefault("properties", {})["metadata"] = {"$ref": REF_PREFIX + OBJECT_META}
            yield schema_file_name(spec["names"]["kind"], spec["group"], version["name"]), standalone(
                root, definitions, [OBJECT_META]
            )


def main(argv):
    if len(argv) < 4:
        sys.exit(__doc__)
    swagger, version, out, crds = argv[1], argv[2].lstrip("v"), argv[3], argv[4:]
    with open(swagger, encoding="utf-8") as f:
        definitions = tightened_definitions(json.load(f)["definitions"])
    target = os.path.join(out, f"v{version}-standalone-strict")
    os.makedirs(target, exist_ok=True)
    written = {}
    sources = [("kubernetes", kubernetes_schemas(definitions))]
    sources += [(crd, crd_schemas(crd, definitions)) for crd in crds]
    for source, schemas in sources:
        for file_name, doc in schemas:
            # The same file from two sources must be the same schema (meta
            # kinds such as WatchEvent appear under every group).
            if file_name in written and written[file_name][1] != doc:
                sys.exit(f"{file_name}: different schemas from {written[file_name][0]} and {source}")
            written[file_name] = (source, doc)
    for file_name, (_, doc) in written.items():
        write(os.path.join(target, file_name), doc)
    print(f"{len(written)} schemas in {target}", file=sys.stderr)


if __name__ == "__main__":
    main(sys.argv)
