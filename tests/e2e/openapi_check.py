"""OpenAPI helpers for the API tests: a small JSON-Schema validator (the
subset api-gateway/openapi.json uses: type with arrays for nullable, required,
properties, additionalProperties, enum, items, $ref, anyOf, minimum/maximum,
minLength/maxLength, maxItems, pattern) and the route table of the gateway
read from its source (api-gateway/main.c plus the health routes every daemon
serves, common/daemon.c)."""
import os
import re

ROUTE = re.compile(r'\{\s*"(GET|POST|PATCH|PUT|DELETE)",\s*"(/[^"]*)",\s*\w+\s*\}')

TYPES = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool) or (isinstance(v, float) and v.is_integer()),
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
}


def resolve(root, schema):
    while "$ref" in schema:
        ref = schema["$ref"]
        assert ref.startswith("#/"), ref
        node = root
        for part in ref[2:].split("/"):
            node = node[part]
        schema = node
    return schema


def validate(root, schema, value, path="$"):
    """The list of errors ("path: what") of value against schema; empty when valid."""
    schema = resolve(root, schema)
    errors = []
    if "anyOf" in schema:
        if all(validate(root, s, value, path) for s in schema["anyOf"]):
            errors.append(f"{path}: matches none of anyOf")
        return errors
    types = schema.get("type")
    if types is not None:
        types = types if isinstance(types, list) else [types]
        if not any(TYPES[t](value) for t in types):
            return [f"{path}: {value!r:.60} is not of type {types}"]
    if "enum" in schema and value not in schema["enum"]:
        errors.append(f"{path}: {value!r:.60} is not one of {schema['enum']}")
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if "minimum" in schema and value < schema["minimum"]:
            errors.append(f"{path}: {value} < minimum {schema['minimum']}")
        if "maximum" in schema and value > schema["maximum"]:
            errors.append(f"{path}: {value} > maximum {schema['maximum']}")
    if isinstance(value, str):
        if len(value) < schema.get("minLength", 0) or len(value) > schema.get("maxLength", 1 << 62):
            errors.append(f"{path}: length {len(value)} outside the schema's bounds")
        if "pattern" in schema and not re.search(schema["pattern"], value):
            errors.append(f"{path}: {value!r:.60} does not match {schema['pattern']}")
    if isinstance(value, dict):
        for name in schema.get("required", []):
            if name not in value:
                errors.append(f"{path}: {name} is required")
        props = schema.get("properties", {})
        extra = schema.get("additionalProperties", True)
        for name, v in value.items():
            if name in props:
                errors += validate(root, props[name], v, f"{path}.{name}")
            elif extra is False:
                errors.append(f"{path}: {name} is not allowed")
            elif isinstance(extra, dict):
                errors += validate(root, extra, v, f"{path}.{name}")
    if isinstance(value, list):
        if len(value) > schema.get("maxItems", 1 << 62):
            errors.append(f"{path}: more than {schema['maxItems']} items")
        if "items" in schema:
            for i, v in enumerate(value):
                errors += validate(root, schema["items"], v, f"{path}[{i}]")
    return errors


def router_routes(root_dir):
    """{(METHOD, path)} of the gateway's router, with {name*} written {name}."""
    routes = set()
    for rel in ("api-gateway/main.c", "common/daemon.c"):
        with open(os.path.join(root_dir, rel)) as f:
            for method, pattern in ROUTE.findall(f.read()):
                routes.add((method, re.sub(r"\{(\w+)\*\}", r"{\1}", pattern)))
    return routes


def document_routes(doc):
    """{(METHOD, path)} the OpenAPI document describes."""
    return {(m.upper(), p) for p, item in doc["paths"].items() for m in item
            if m in ("get", "post", "patch", "put", "delete")}


def operation(doc, method, path):
    return doc["paths"][path][method.lower()]


def response_schema(doc, method, path, status, ctype="application/json"):
    """The schema the document gives for an answer, or None when it has none."""
    responses = operation(doc, method, path)["responses"]
    resp = responses.get(str(status))
    if resp is None:
        return None
    resp = resolve(doc, resp)
    content = resp.get("content", {})
    media = content.get(ctype) or content.get(ctype.split(";")[0].strip())
    return media["schema"] if media else None


def request_schema(doc, method, path):
    body = operation(doc, method, path).get("requestBody")
    return body["content"]["application/json"]["schema"] if body else None
