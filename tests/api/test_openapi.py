"""The OpenAPI document and the server agree: same routes, same fields, same ranges."""

import re

from gateway.domain.settings import FORM_FIELDS
from gateway.http.openapi import document
from tests.helpers import Api, csv_of


def resolve(spec: dict, schema: dict) -> dict:
    while "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        schema = spec["components"]["schemas"][name]
    return schema


def check_against(spec: dict, schema: dict, value: object, where: str) -> None:
    """A small structural check: types, required keys, enums (enough to catch drift)."""
    schema = resolve(spec, schema)
    if "allOf" in schema:  # merge the parts: their properties together describe the value
        parts = [resolve(spec, part) for part in schema["allOf"]]
        schema = {
            "type": "object",
            "required": [key for part in parts for key in part.get("required", [])],
            "properties": {k: v for part in parts for k, v in part["properties"].items()},
        }
    types = schema.get("type")
    if types is not None:
        types = types if isinstance(types, list) else [types]
        python = {
            "object": dict, "array": list, "string": str, "integer": int,
            "number": (int, float), "null": type(None), "boolean": bool,
        }  # fmt: skip
        assert any(isinstance(value, python[t]) for t in types), (where, value, types)
    if "enum" in schema:
        assert value in schema["enum"], (where, value)
    if isinstance(value, dict):
        for key in schema.get("required", []):
            assert key in value, f"{where}: missing {key}"
        properties = schema.get("properties", {})
        if properties and "additionalProperties" not in schema:
            extra = set(value) - set(properties)
            assert not extra, f"{where}: undocumented {extra}"
        for key, sub in properties.items():
            if key in value:
                check_against(spec, sub, value[key], f"{where}.{key}")
        if "additionalProperties" in schema:
            for key, item in value.items():
                check_against(spec, schema["additionalProperties"], item, f"{where}.{key}")
    if isinstance(value, list) and "items" in schema:
        for i, item in enumerate(value):
            check_against(spec, schema["items"], item, f"{where}[{i}]")


async def test_served_without_key_and_lists_every_route(api: Api) -> None:
    response = await api.client.get("/api/v1/openapi.json")
    assert response.status == 200
    spec = await response.json()
    assert spec["openapi"].startswith("3.")
    documented = {(method.upper(), path) for path, ops in spec["paths"].items() for method in ops}
    served = set()
    for route in api.client.app.router.routes():
        info = route.resource.get_info() if route.resource else {}
        path = info.get("path") or info.get("formatter")
        if path and route.method != "HEAD":
            served.add((route.method, re.sub(r"\{(\w+)\}", r"{\1}", path)))
    assert documented == served


async def test_form_fields_match_validation() -> None:
    spec = document()
    form = spec["paths"]["/api/v1/campaigns"]["post"]["requestBody"]["content"][
        "multipart/form-data"
    ]["schema"]
    assert set(form["properties"]) == FORM_FIELDS | {"contacts"}
    assert form["properties"]["max_concurrent_calls"] == {
        "type": "integer", "minimum": 1, "maximum": 100, "default": 5,
        "description": form["properties"]["max_concurrent_calls"]["description"],
    }  # fmt: skip
    assert form["properties"]["retries_per_contact"]["maximum"] == 5
    assert form["properties"]["retry_delay_seconds"]["minimum"] == 60


async def test_the_events_and_the_timezone_column_are_described() -> None:
    spec = document()
    events = spec["paths"]["/api/v1/campaigns/{id}/events"]["get"]["summary"]
    assert "`opt_out`" in events
    for field in ("campaign_id", "contact_id", "phone_number", "time"):
        assert f"`{field}`" in events.split("`opt_out`", 1)[1], field
    for field in ("waiting_for_window", "calls_by_node", "machine_rate"):
        assert f"`{field}`" in events.split("`metrics`", 1)[1], field
    form = spec["paths"]["/api/v1/campaigns"]["post"]["requestBody"]["content"][
        "multipart/form-data"
    ]["schema"]
    contacts = form["properties"]["contacts"]["description"]
    assert "`timezone` column" in contacts
    assert "IANA" in contacts and "custom field" in contacts


async def test_real_responses_match_their_schemas(api: Api) -> None:
    spec = document()
    paths = spec["paths"]

    def schema(path: str, method: str, status: str) -> dict:
        return paths[path][method]["responses"][status]["content"]["application/json"]["schema"]

    created = await api.create_ok(csv_of(3, extra="n"))
    check_against(spec, schema("/api/v1/campaigns", "post", "201"), created, "create")
    cid = created["id"]
    listed = await (await api.request("GET", "/campaigns")).json()
    check_against(spec, schema("/api/v1/campaigns", "get", "200"), listed, "list")
    got = await (await api.request("GET", f"/campaigns/{cid}")).json()
    check_against(spec, schema("/api/v1/campaigns/{id}", "get", "200"), got, "get")
    contacts = await (await api.request("GET", f"/campaigns/{cid}/contacts")).json()
    check_against(
        spec, schema("/api/v1/campaigns/{id}/contacts", "get", "200"), contacts, "contacts"
    )
    first = contacts["contacts"][0]["id"]
    detail = await (await api.request("GET", f"/campaigns/{cid}/contacts/{first}")).json()
    path = "/api/v1/campaigns/{id}/contacts/{contact_id}"
    check_against(spec, schema(path, "get", "200"), detail, "contact detail")
    started = await (await api.request("POST", f"/campaigns/{cid}/start")).json()
    check_against(spec, schema("/api/v1/campaigns/{id}/start", "post", "200"), started, "start")
    error = await (await api.request("POST", f"/campaigns/{cid}/start")).json()
    check_against(spec, {"$ref": "#/components/schemas/Error"}, error, "409")
    bad = await (await api.create("phone_number\nx\n")).json()
    check_against(spec, {"$ref": "#/components/schemas/Error"}, bad, "400")
