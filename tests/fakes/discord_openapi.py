"""Checks request bodies against Discord's own OpenAPI description of its REST API
(shared/protocols/fixtures/discord/discord-api-spec/openapi.json, discord/discord-api-spec).

Debian 12 has no jsonschema for /usr/bin/python3, so this is a small validator for the parts
of JSON Schema that file uses on request bodies: $ref, type (one or a list), properties,
required, additionalProperties, items, min/maxItems, min/maxLength, minimum/maximum, enum,
const, oneOf, anyOf, allOf. `format` is not checked. Unknown keywords are ignored, so a
body can only be refused for something the schema really says.
"""

import json
import os
import re

SPEC = os.path.join(os.environ.get("PB_SOURCE_DIR", os.path.join(os.path.dirname(__file__),
                                                                 "..", "..")),
                    "..", "shared", "protocols", "fixtures", "discord", "discord-api-spec",
                    "openapi.json")

_TYPES = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
}


class Spec:
    def __init__(self, path=None):
        path = path or os.environ.get("PB_DISCORD_OPENAPI") or SPEC
        with open(path) as f:
            self.doc = json.load(f)
        self._routes = []
        for template, ops in self.doc["paths"].items():
            rx = "^" + re.sub(r"\\\{[a-z_]+\\\}", "[^/]+", re.escape(template)) + "$"
            self._routes.append((re.compile(rx), template, ops))

    def operation(self, method, path):
        for rx, template, ops in self._routes:
            if rx.match(path) and method.lower() in ops:
                return template, ops[method.lower()]
        return None, None

    def check_request(self, method, path, body):
        """A list of problems with this request body (empty when it is valid)."""
        template, op = self.operation(method, path)
        if not op:
            return [f"{method} {path}: no such operation in the OpenAPI description"]
        schema = (op.get("requestBody", {}).get("content", {})
                  .get("application/json", {}).get("schema"))
        if schema is None:
            return [] if body is None else [f"{method} {template} takes no JSON body"]
        errors = []
        self._check(body, schema, "$", errors)
        return [f"{method} {template}: {e}" for e in errors]

    def _resolve(self, schema):
        while "$ref" in schema:
            node = self.doc
            for part in schema["$ref"].lstrip("#/").split("/"):
                node = node[part]
            schema = node
        return schema

    def _matches(self, value, schema):
        errs = []
        self._check(value, schema, "$", errs)
        return not errs

    def _check(self, v, schema, where, errors):
        schema = self._resolve(schema)
        if "allOf" in schema:
            for s in schema["allOf"]:
                self._check(v, s, where, errors)
        if "anyOf" in schema and not any(self._matches(v, s) for s in schema["anyOf"]):
            errors.append(f"{where}: matches none of anyOf")
            return
        if "oneOf" in schema:
            n = sum(1 for s in schema["oneOf"] if self._matches(v, s))
            if n != 1:
                errors.append(f"{where}: matches {n} of oneOf (exactly one wanted)")
                return
        t = schema.get("type")
        if t is not None:
            types = t if isinstance(t, list) else [t]
            if not any(_TYPES[x](v) for x in types):
                errors.append(f"{where}: {json.dumps(v)[:60]} is not of type {t}")
                return
        if "const" in schema and v != schema["const"]:
            errors.append(f"{where}: must be {schema['const']!r}")
        if "enum" in schema and v not in schema["enum"]:
            errors.append(f"{where}: {v!r} not in {schema['enum']}")
        if isinstance(v, str):
            if "maxLength" in schema and len(v) > schema["maxLength"]:
                errors.append(f"{where}: longer than {schema['maxLength']}")
            if "minLength" in schema and len(v) < schema["minLength"]:
                errors.append(f"{where}: shorter than {schema['minLength']}")
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            if "minimum" in schema and v < schema["minimum"]:
                errors.append(f"{where}: below {schema['minimum']}")
            if "maximum" in schema and v > schema["maximum"]:
                errors.append(f"{where}: above {schema['maximum']}")
        if isinstance(v, list):
            if "maxItems" in schema and len(v) > schema["maxItems"]:
                errors.append(f"{where}: more than {schema['maxItems']} items")
            if "minItems" in schema and len(v) < schema["minItems"]:
                errors.append(f"{where}: fewer than {schema['minItems']} items")
            if "items" in schema:
                for i, item in enumerate(v):
                    self._check(item, schema["items"], f"{where}[{i}]", errors)
        if isinstance(v, dict):
            props = schema.get("properties", {})
            for key in schema.get("required", []):
                if key not in v:
                    errors.append(f"{where}: missing {key}")
            for key, item in v.items():
                if key in props:
                    self._check(item, props[key], f"{where}.{key}", errors)
                elif schema.get("additionalProperties") is False:
                    errors.append(f"{where}: unexpected {key}")
