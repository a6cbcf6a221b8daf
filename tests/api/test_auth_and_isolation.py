"""Keys, 401s, and tenants that can never see or touch each other's campaigns."""

import structlog
from structlog.testing import capture_logs

from gateway.http.keys import STORE
from tests.helpers import Api, new_tenant


async def test_no_key_wrong_key_revoked_key(api: Api) -> None:
    for headers in ({}, {"Authorization": "Bearer nope"}, {"Authorization": f"Basic {api.key}"}):
        response = await api.client.get("/api/v1/campaigns", headers=headers)
        assert response.status == 401
        assert "API key" in (await response.json())["error"]
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert (await api.request("GET", "/campaigns")).status == 200
    assert await api.client.app[STORE].tenants.revoke_key(api.key) == 1
    assert (await api.request("GET", "/campaigns")).status == 401


async def test_only_the_hash_is_stored(api: Api) -> None:
    db = api.client.app[STORE].db
    rows = await db.fetch_all("SELECT * FROM api_keys")
    assert rows and all(api.key not in str(tuple(r)) for r in rows)


async def test_public_endpoints_need_no_key(api: Api) -> None:
    for path in ("/api/v1/openapi.json", "/healthz", "/readyz", "/metrics"):
        response = await api.client.get(path)
        assert response.status in (200, 503), path


async def test_other_tenant_sees_404_everywhere(api: Api, other_api: Api) -> None:
    campaign = await api.create_ok()
    path = f"/campaigns/{campaign['id']}"
    for method, suffix in [
        ("GET", ""),
        ("GET", "/contacts"),
        ("GET", "/events"),
        ("POST", "/start"),
        ("POST", "/pause"),
        ("POST", "/resume"),
        ("POST", "/stop"),
        ("DELETE", ""),
    ]:
        response = await other_api.request(method, path + suffix)
        assert response.status == 404, (method, suffix)
        assert await response.json() == {"error": "campaign not found"}
    listed = await (await other_api.request("GET", "/campaigns")).json()
    assert listed == {"campaigns": [], "total": 0}
    # and nothing happened to it
    mine = await (await api.request("GET", path)).json()
    assert mine["status"] == "draft" and mine["counts"]["pending"] == 1


async def test_unknown_campaign_is_404(api: Api) -> None:
    response = await api.request("GET", "/campaigns/does-not-exist")
    assert response.status == 404


async def test_key_and_secret_never_logged(api: Api) -> None:
    structlog.contextvars.clear_contextvars()
    with capture_logs(processors=[structlog.contextvars.merge_contextvars]) as logs:
        await api.create_ok()
        await api.request("GET", "/campaigns", headers={"Authorization": "Bearer wrong-key"})
    text = repr(logs)
    assert logs, "expected request logs"
    assert api.key not in text and "wrong-key" not in text
    assert any(entry.get("request_id") for entry in logs)


async def test_second_tenant_budget_is_its_own(api: Api) -> None:
    small = await new_tenant(api.client, "small", max_calls=5)
    campaign = await small.create_ok(max_concurrent_calls=5)
    assert (await small.request("POST", f"/campaigns/{campaign['id']}/start")).status == 200
    # acme's budget is untouched by small's running campaign
    mine = await api.create_ok(max_concurrent_calls=50)
    assert (await api.request("POST", f"/campaigns/{mine['id']}/start")).status == 200
