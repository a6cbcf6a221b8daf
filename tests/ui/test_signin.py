"""Signing in and out: the key is checked, kept in sessionStorage only, and a wrong one
is refused with `Invalid API key`."""

from playwright.sync_api import Page, expect

from tests.ui.conftest import Tenants, sign_in


def test_sign_in_keeps_the_key_in_session_storage_only(page: Page, server: Tenants) -> None:
    sign_in(page, server.url, server.acme)
    assert page.evaluate("sessionStorage.getItem('gateway.apiKey')") == server.acme
    assert page.evaluate("localStorage.length") == 0
    assert page.context.cookies() == []
    assert server.acme not in page.url
    page.reload()  # the tab keeps its session
    expect(page.get_by_role("heading", name="Campaigns", exact=True)).to_be_visible()
    page.get_by_role("button", name="Sign out", exact=True).click()
    expect(page.get_by_label("API key", exact=True)).to_be_visible()
    assert page.evaluate("sessionStorage.length") == 0
    expect(page.get_by_role("button", name="Sign out", exact=True)).to_be_hidden()


def test_a_wrong_key_is_refused(page: Page, server: Tenants) -> None:
    page.goto(server.url + "/")
    page.get_by_label("API key", exact=True).fill("gw_not-a-key")
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page.get_by_role("alert")).to_have_text("Invalid API key")
    assert page.evaluate("sessionStorage.length") == 0
    expect(page.get_by_role("heading", name="Campaigns", exact=True)).to_have_count(0)


def test_a_revoked_key_signs_the_dashboard_out(page: Page, server: Tenants) -> None:
    key = server.daemon.create_tenant("initech")
    sign_in(page, server.url, key)
    server.daemon.gateway("keys", "revoke", key)
    page.reload()
    expect(page.get_by_role("alert")).to_have_text("Invalid API key")
    expect(page.get_by_label("API key", exact=True)).to_be_visible()
