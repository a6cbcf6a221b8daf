"""The dashboard watching real calls: a daemon dialling the sandbox Asterisk, SIPp as the
far end (the last digit of a number says how it answers: tests/integration/support.py).
Run these under `flock /tmp/gateway-sandbox.lock` when others share the sandbox."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.integration.support import (
    Api,
    Gateway,
    GatewayOptions,
    SandboxMissing,
    numbers,
    start_sandbox,
)
from tests.recount import recount_mismatches
from tests.ui.conftest import DESKTOP, OUTPUT, sign_in

pytestmark = pytest.mark.integration


class Dialling:
    def __init__(self, gateway: Gateway, api: Api) -> None:
        self.gateway = gateway
        self.url = gateway.url
        self.api = api


@pytest.fixture(scope="module")
def dialling(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dialling]:
    try:
        ami = start_sandbox()
    except SandboxMissing as exc:
        pytest.fail(f"the integration sandbox is not available: {exc}", pytrace=False)
    folder = tmp_path_factory.mktemp("ui-dialling")
    gateway = Gateway(folder / "gw", ami, GatewayOptions())
    api = gateway.tenant("acme", 20, 10)
    gateway.start()
    try:
        yield Dialling(gateway, api)
    finally:
        assert gateway.stop() == 0, gateway.tail()
        assert recount_mismatches(folder / "gw" / "gateway.db") == []


def mark_page(page: Page) -> None:
    """A mark that a reload would wipe: its presence later proves there was none."""
    page.evaluate("window.__noReload = true")


def not_reloaded(page: Page) -> bool:
    return page.evaluate("window.__noReload === true")


def test_progress_reaches_100_live_with_pause_and_resume(
    page: Page, browser: Browser, dialling: Dialling, shot
) -> None:
    campaign = dialling.api.create(numbers("01234567", 8), name="Live", max_concurrent_calls=2)
    cid = campaign["id"]
    # A second tab on the list: it follows the campaign once it runs.
    other = browser.new_context(viewport=DESKTOP)
    listing = other.new_page()
    try:
        sign_in(listing, dialling.url, dialling.api.key)
        mark_page(listing)
        row = listing.get_by_role("row").filter(has_text="Live")
        expect(row).to_contain_text("draft")

        sign_in(page, dialling.url, dialling.api.key)
        page.get_by_role("link", name="Live", exact=True).click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Live")
        mark_page(page)
        status = page.locator(".title-bar .status")
        page.get_by_role("button", name="Start", exact=True).click()
        expect(status).to_have_text("running")
        log = page.get_by_role("region", name="Live log of transitions")
        expect(log.get_by_role("row").filter(has_text="pending → originated").first).to_be_visible()
        page.get_by_role("button", name="Pause", exact=True).click()
        expect(status).to_have_text("paused")
        expect(page.get_by_role("button", name="Resume", exact=True)).to_be_enabled()
        shot("paused")
        page.get_by_role("button", name="Resume", exact=True).click()
        expect(status).to_have_text("running")
        expect(row).to_contain_text("running", timeout=15_000)  # the list tab follows

        expect(page.get_by_text("8 / 8 · 100%")).to_be_visible(timeout=60_000)
        expect(status).to_have_text("completed")
        expect(row).to_contain_text("8 / 8 · 100%", timeout=15_000)
        expect(row).to_contain_text("completed")
        progress = row.get_by_role("progressbar", name="Progress of Live")
        expect(progress).to_have_attribute("value", "8")
        # What the page saw, live: every final transition, and the figures.
        for outcome in ("answered", "busy", "no_answer", "rejected"):
            expect(log.get_by_role("row").filter(has_text=outcome).first).to_be_visible()
        expect(log.get_by_role("row").filter(has_text="→ completed")).to_have_count(5)
        expect(log.get_by_role("row").filter(has_text="→ failed")).to_have_count(3)
        expect(page.get_by_role("list").filter(has_text="completed")).to_contain_text("completed 5")
        answer = page.locator("figure").filter(has_text="Answer rate").locator(".figure-value")
        expect(answer).to_have_text("63%")  # 5 answered of 8 attempts
        assert not_reloaded(page) and not_reloaded(listing)
        listing.screenshot(path=OUTPUT / "test_progress_reaches_100_live-list.png", full_page=True)
    finally:
        other.close()
    got = dialling.api.get(cid)
    assert got["status"] == "completed" and got["counts"]["completed"] == 5


def test_stop_cancels_what_is_pending_and_lets_the_call_finish(
    page: Page, dialling: Dialling, shot
) -> None:
    # Numbers ending in 9 ring until the ring timeout: one call at a time, 5 s each.
    campaign = dialling.api.create(
        numbers("9", 4, exchange=556), name="Stopped", max_concurrent_calls=1,
        ring_timeout_seconds=5,
    )  # fmt: skip
    sign_in(page, dialling.url, dialling.api.key)
    page.goto(f"{dialling.url}/#/campaigns/{campaign['id']}")
    expect(page.get_by_role("heading", level=1)).to_have_text("Stopped")
    page.get_by_role("button", name="Start", exact=True).click()
    log = page.get_by_role("region", name="Live log of transitions")
    expect(log.get_by_role("row").filter(has_text="pending → originated")).to_have_count(1)
    page.get_by_role("button", name="Stop", exact=True).click()
    page.get_by_role("dialog").get_by_role("button", name="Yes, stop", exact=True).click()
    status = page.locator(".title-bar .status")
    expect(status).to_have_text("stopped")
    expect(log.get_by_role("row").filter(has_text="pending → cancelled")).to_have_count(3)
    shot("stopped-call-in-flight")
    # The call in flight still finishes (no answer at the ring timeout) and is recorded.
    expect(log.get_by_role("row").filter(has_text="no_answer")).to_have_count(1, timeout=20_000)
    expect(page.get_by_text("4 / 4 · 100%")).to_be_visible()
    expect(page.get_by_role("button", name="Delete", exact=True)).to_be_enabled()


def test_filter_the_contacts_and_export_the_csv(
    page: Page, dialling: Dialling, tmp_path: Path
) -> None:
    campaign = dialling.api.create(
        numbers("0578", 4, exchange=557), name="Outcomes", max_concurrent_calls=4
    )
    cid = campaign["id"]
    dialling.api.command(cid, "start")
    dialling.api.wait_status(cid, "completed", 60)
    sign_in(page, dialling.url, dialling.api.key)
    page.goto(f"{dialling.url}/#/campaigns/{cid}")
    table = page.get_by_role("region", name="Contacts table")
    expect(table.locator("tbody tr")).to_have_count(4)
    page.get_by_label("Status", exact=True).select_option("failed")
    expect(table.locator("tbody tr")).to_have_count(3)
    for outcome, sip in (("busy", "486"), ("rejected", "603"), ("invalid_number", "404")):
        row = table.get_by_role("row").filter(has_text=outcome)
        expect(row).to_contain_text(sip)
        expect(row).to_contain_text("failed")
    expect(page.get_by_text("Page 1 of 1 · 3 contacts")).to_be_visible()
    with page.expect_download() as info:
        page.get_by_role("button", name="Export CSV", exact=True).click()
    download = info.value
    assert download.suggested_filename == f"contacts-{cid}-failed.csv"
    path = tmp_path / "failed.csv"
    download.save_as(path)
    rows = list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"))))
    assert sorted(r["outcome"] for r in rows) == ["busy", "invalid_number", "rejected"]
    assert {r["sip_code"] for r in rows} == {"486", "603", "404"}
    assert {r["status"] for r in rows} == {"failed"}

    page.get_by_label("Status", exact=True).select_option("completed")
    expect(table.locator("tbody tr")).to_have_count(1)
    expect(table.locator("tbody tr")).to_contain_text("answered")
    page.get_by_label("Status", exact=True).select_option("")
    expect(table.locator("tbody tr")).to_have_count(4)
    with page.expect_download() as info:
        page.get_by_role("button", name="Export CSV", exact=True).click()
    everything = list(csv.DictReader(io.StringIO(Path(info.value.path()).read_text("utf-8"))))
    assert len(everything) == 4
    # Every call went through the one node, [ami] (node "default"); AMD was off.
    assert {(r["node"], r["answered_by"], r["amd_cause"]) for r in everything} == {
        ("default", "", "")
    }
    answered = [r for r in everything if r["outcome"] == "answered"]
    assert len(answered) == 1 and float(answered[0]["talk_seconds"]) > 0
