"""The campaigns list, the new-campaign form and a campaign's page, against a daemon
with no Asterisk (started campaigns wait, so every state is there to look at)."""

from __future__ import annotations

import json
import re
import urllib.request
from typing import Any

import pytest
from playwright.sync_api import Locator, Page, expect

from gateway.domain.settings import FORM_FIELDS
from tests.daemon_fixture import Proxy
from tests.ui.conftest import PHONE, Tenants, sign_in, upload

HOSTILE = "<img src=x onerror=alert(1)>"
# retry_on's checkboxes, by their names, and whether each is ticked at first.
RETRY_ON_DEFAULT = {
    "busy": True, "no answer": True, "congestion": True, "failed": True, "machine": False,
}  # fmt: skip
CSV = "phone_number,first_name\n+14155550100,Ada\n+14155550101,Grace\n+14155550102,Linus\n"


def api(server: Tenants, method: str, path: str, key: str | None = None) -> Any:
    request = urllib.request.Request(
        server.url + "/api/v1" + path,
        method=method,
        headers={"Authorization": f"Bearer {key or server.acme}"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        body = response.read()
        return json.loads(body) if body else None


def create(server: Tenants, name: str, csv: str = CSV, key: str | None = None, **fields: Any):
    boundary = "----uitest"
    parts = [("name", name), *((k, str(v)) for k, v in fields.items())]
    body = b"".join(
        f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
        for k, v in parts
    )
    body += (
        f'--{boundary}\r\nContent-Disposition: form-data; name="contacts"; filename="c.csv"\r\n'
        f"Content-Type: text/csv\r\n\r\n{csv}\r\n--{boundary}--\r\n"
    ).encode()
    request = urllib.request.Request(
        server.url + "/api/v1/campaigns",
        data=body,
        method="POST",
        headers={
            "Authorization": f"Bearer {key or server.acme}",
            "Content-Type": f"multipart/form-data; boundary={boundary}",
        },
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def setting(page: Page, name: str) -> Locator:
    """The value of a row of the campaign page's Settings panel."""
    term = page.locator(".settings dt").filter(has_text=re.compile(f"^{re.escape(name)}$"))
    return term.locator("xpath=following-sibling::dd[1]")


def open_campaign(page: Page, server: Tenants, campaign: dict[str, Any]) -> None:
    page.goto(f"{server.url}/#/campaigns/{campaign['id']}")
    expect(page.get_by_role("heading", level=1)).to_have_text(campaign["name"])


def test_create_a_campaign_by_uploading_a_csv(page: Page, server: Tenants, shot) -> None:
    sign_in(page, server.url, server.acme)
    page.get_by_role("button", name="New campaign", exact=True).click()
    expect(page.get_by_role("heading", name="New campaign", exact=True)).to_be_visible()
    # A control for every field the API's create form takes, and for nothing else.
    names = page.locator("form.new-campaign [name]").evaluate_all("els => els.map(e => e.name)")
    assert set(names) == FORM_FIELDS | {"contacts"}, names
    page.get_by_label("Name", exact=True).fill("Spring reminders")
    upload(page, CSV)
    agent = page.get_by_label("Agent", exact=True)
    expect(agent.locator("option")).to_have_text(["Configured default", "ivr", "queue"])
    agent.select_option("queue")
    number = page.get_by_label("Phone number", exact=True)
    expect(number.locator("option")).to_have_text(["Configured default", "main"])
    number.select_option("main")
    amd = page.get_by_label("Answering-machine detection", exact=True)
    expect(amd.locator("option")).to_have_text(["Off", "On"])
    amd.select_option("on")
    machine = page.get_by_label("Machine agent", exact=True)
    none = "None: a machine is hung up on"
    expect(machine.locator("option")).to_have_text([none, "ivr", "queue"])
    machine.select_option("ivr")
    page.get_by_label("Max concurrent calls", exact=True).fill("3")
    page.get_by_label("Retries per contact", exact=True).fill("2")
    retry_on = page.get_by_role("group", name="Retry on", exact=True)
    boxes = retry_on.get_by_role("checkbox")
    expect(boxes).to_have_count(5)
    for outcome, ticked in RETRY_ON_DEFAULT.items():
        box = retry_on.get_by_role("checkbox", name=outcome, exact=True)
        expect(box).to_be_checked(checked=ticked)
        if outcome != "busy":
            box.set_checked(False)  # retry only a busy line
    page.get_by_label("Retry delay (seconds)", exact=True).fill("600")
    page.get_by_label("Scheduled at", exact=True).fill("2099-06-01T09:30")
    page.get_by_label("Calls per second", exact=True).fill("1.5")
    page.get_by_label("Ring timeout (seconds)", exact=True).fill("25")
    page.get_by_label("Time zone", exact=True).fill("America/New_York")
    page.get_by_label("Calling window start", exact=True).fill("09:00")
    page.get_by_label("Calling window end", exact=True).fill("19:00")
    shot("form")
    page.get_by_role("button", name="Create", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Spring reminders")
    expect(page.get_by_text("Created with 3 contacts.")).to_be_visible()
    expect(page.get_by_role("region", name="Contacts table").locator("tbody tr")).to_have_count(3)
    expect(page.get_by_role("cell", name="Grace", exact=True)).to_be_visible()
    campaign_id = page.url.rsplit("/", 1)[-1]
    got = api(server, "GET", f"/campaigns/{campaign_id}")
    assert got["name"] == "Spring reminders" and got["status"] == "draft"
    assert (got["agent_id"], got["phone_number_id"]) == ("queue", "main")
    assert (got["max_concurrent_calls"], got["retries_per_contact"]) == (3, 2)
    assert got["retry_delay_seconds"] == 600 and got["ring_timeout_seconds"] == 25
    assert got["max_calls_per_second"] == 1.5 and got["timezone"] == "America/New_York"
    assert (got["calling_window_start"], got["calling_window_end"]) == ("09:00", "19:00")
    assert got["scheduled_at"].startswith("2099-06-01T")
    assert got["custom_field_names"] == ["first_name"]
    assert got["retry_on"] == ["busy"]
    assert (got["amd"], got["machine_agent_id"]) == ("on", "ivr")
    expect(setting(page, "Retry on")).to_have_text("busy")
    expect(setting(page, "Answering-machine detection")).to_have_text("on")
    expect(setting(page, "Machine agent")).to_have_text("ivr")
    expect(setting(page, "Retries per contact")).to_have_text("2")
    shot("settings")
    page.get_by_role("link", name="← All campaigns").click()
    row = page.get_by_role("row").filter(has_text="Spring reminders")
    expect(row.get_by_role("link", name="Spring reminders", exact=True)).to_be_visible()
    expect(row).to_contain_text("draft")
    expect(row).to_contain_text("0 / 3 · 0%")


def test_a_bad_csv_is_refused_with_its_row(page: Page, server: Tenants, shot) -> None:
    sign_in(page, server.url, server.acme)
    before = api(server, "GET", "/campaigns")["total"]
    page.get_by_role("button", name="New campaign", exact=True).click()
    page.get_by_label("Name", exact=True).fill("Broken upload")
    upload(page, "phone_number\n+14155550100\nnot a number\n+14155550102\n")
    page.get_by_role("button", name="Create", exact=True).click()
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("row 3")
    expect(alert).to_contain_text("contacts:")
    expect(page.get_by_label("Contacts CSV", exact=True)).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_role("heading", name="New campaign", exact=True)).to_be_visible()
    assert api(server, "GET", "/campaigns")["total"] == before  # nothing was kept
    # A form field's error names the field too.
    upload(page, CSV)
    page.get_by_label("Max concurrent calls", exact=True).fill("500")
    page.get_by_role("button", name="Create", exact=True).click()
    expect(alert).to_contain_text("max_concurrent_calls: must be an integer from 1 to 100")
    field = page.get_by_label("Max concurrent calls", exact=True)
    expect(field).to_have_attribute("aria-invalid", "true")
    expect(field).to_be_focused()
    # An agent removed from the configuration after the form was read: the server's 400
    # names machine_agent_id, and the Machine agent select is the one marked.
    field.fill("3")
    machine = page.get_by_label("Machine agent", exact=True)
    machine.evaluate("el => el.append(new Option('retired', 'retired'))")
    machine.select_option("retired")
    page.get_by_role("button", name="Create", exact=True).click()
    expect(alert).to_contain_text("machine_agent_id: unknown machine_agent_id 'retired'")
    expect(machine).to_have_attribute("aria-invalid", "true")
    expect(machine).to_be_focused()
    expect(field).not_to_have_attribute("aria-invalid", "true")
    # A 400 naming retry_on marks its checkboxes and focuses the first one.
    machine.select_option("")
    retry_on = page.get_by_role("group", name="Retry on", exact=True)
    retry_on.get_by_role("checkbox", name="machine", exact=True).evaluate(
        "el => { el.value = 'lost'; el.checked = true; }"  # the boxes offer only what it takes
    )
    page.get_by_role("button", name="Create", exact=True).click()
    expect(alert).to_contain_text("retry_on: 'lost' is never retried")
    boxes = retry_on.get_by_role("checkbox")
    for i in range(5):
        expect(boxes.nth(i)).to_have_attribute("aria-invalid", "true")
    expect(boxes.first).to_be_focused()
    expect(machine).not_to_have_attribute("aria-invalid", "true")
    shot("retry-on-refused")
    assert api(server, "GET", "/campaigns")["total"] == before


def test_a_hostile_name_renders_as_text(page: Page, server: Tenants) -> None:
    alerts: list[str] = []
    page.on("dialog", lambda dialog: (alerts.append(dialog.message), dialog.dismiss()))
    campaign = create(server, HOSTILE, f"phone_number,note\n+14155550100,{HOSTILE}\n")
    sign_in(page, server.url, server.acme)
    expect(page.get_by_role("link", name=HOSTILE, exact=True)).to_be_visible()
    open_campaign(page, server, campaign)
    expect(page.get_by_role("cell", name=HOSTILE, exact=True)).to_be_visible()
    assert page.locator("img").count() == 0
    assert page.title() == f"{HOSTILE} · Campaign gateway"
    assert alerts == []


def test_a_second_tenant_sees_none_of_the_first_tenants_campaigns(
    page: Page, server: Tenants
) -> None:
    campaign = create(server, "Acme only")
    sign_in(page, server.url, server.globex)
    expect(page.get_by_text("No campaigns yet.")).to_be_visible()
    expect(page.get_by_text("Page 1 of 1 · 0 campaigns")).to_be_visible()
    expect(page.get_by_role("link", name="Acme only")).to_have_count(0)
    page.goto(f"{server.url}/#/campaigns/{campaign['id']}")
    expect(page.get_by_role("heading", level=1)).to_have_text("Campaign not found")
    for name in ("Start", "Pause", "Resume", "Stop", "Delete", "Export CSV"):
        expect(page.get_by_role("button", name=name, exact=True)).to_be_visible()
    for name in ("Start", "Pause", "Resume", "Stop", "Delete"):
        expect(page.get_by_role("button", name=name, exact=True)).to_be_disabled()
    expect(page.get_by_role("cell", name="+14155550100")).to_have_count(0)


def buttons_enabled(page: Page) -> dict[str, bool]:
    names = ("Start", "Pause", "Resume", "Stop", "Delete")
    return {n: page.get_by_role("button", name=n, exact=True).is_enabled() for n in names}


def expect_enabled(page: Page, *enabled: str) -> None:
    for name in ("Start", "Pause", "Resume", "Stop", "Delete"):
        button = page.get_by_role("button", name=name, exact=True)
        if name in enabled:
            expect(button).to_be_enabled()
        else:
            expect(button).to_be_disabled()


def test_commands_follow_the_state_and_show_the_409(page: Page, server: Tenants, shot) -> None:
    campaign = create(server, "Lifecycle", max_concurrent_calls=5)
    sign_in(page, server.url, server.acme)
    open_campaign(page, server, campaign)
    status = page.locator(".title-bar .status")
    expect(status).to_have_text("draft")
    expect_enabled(page, "Start", "Stop", "Delete")
    page.get_by_role("button", name="Start", exact=True).click()
    expect(status).to_have_text("running")
    expect_enabled(page, "Pause", "Stop")
    page.get_by_role("button", name="Pause", exact=True).click()
    expect(status).to_have_text("paused")
    expect_enabled(page, "Start", "Resume", "Stop", "Delete")
    page.get_by_role("button", name="Resume", exact=True).click()
    expect(status).to_have_text("running")
    # Stop asks first; Cancel changes nothing.
    page.get_by_role("button", name="Stop", exact=True).click()
    dialog = page.get_by_role("dialog", name="Stop this campaign?")
    expect(dialog).to_be_visible()
    shot("confirm-stop")
    dialog.get_by_role("button", name="Cancel", exact=True).click()
    expect(dialog).to_be_hidden()
    assert api(server, "GET", f"/campaigns/{campaign['id']}")["status"] == "running"
    # The tenant's budget is 20 concurrent calls: this one (25) is refused with 409.
    greedy = create(server, "Greedy", max_concurrent_calls=25)
    open_campaign(page, server, greedy)
    page.get_by_role("button", name="Start", exact=True).click()
    expect(page.get_by_role("alert")).to_contain_text("concurrency budget exceeded")
    shot("409")
    expect(page.locator(".title-bar .status")).to_have_text("draft")
    # Back to the running one: stop it for real; its pending contacts are cancelled.
    open_campaign(page, server, campaign)
    page.get_by_role("button", name="Stop", exact=True).click()
    page.get_by_role("dialog").get_by_role("button", name="Yes, stop", exact=True).click()
    expect(page.locator(".title-bar .status")).to_have_text("stopped")
    expect_enabled(page, "Delete")
    expect(page.get_by_role("progressbar", name="Progress")).to_have_attribute("value", "3")
    expect(page.get_by_text("3 / 3 · 100%")).to_be_visible()
    # Delete asks too, then the list no longer has it.
    page.get_by_role("button", name="Delete", exact=True).click()
    page.get_by_role("dialog").get_by_role("button", name="Yes, delete", exact=True).click()
    expect(page.get_by_role("heading", name="Campaigns", exact=True)).to_be_visible()
    expect(page.get_by_text("Campaign “Lifecycle” deleted.")).to_be_visible()
    expect(page.get_by_role("link", name="Lifecycle", exact=True)).to_have_count(0)


def test_reconnects_with_last_event_id_after_a_drop(page: Page, server: Tenants, shot) -> None:
    campaign = create(server, "Through a proxy")
    with Proxy(server.daemon.port) as proxy:
        sign_in(page, proxy.url, server.acme)
        page.goto(f"{proxy.url}/#/campaigns/{campaign['id']}")
        expect(page.get_by_role("heading", level=1)).to_have_text("Through a proxy")
        connection = page.locator("#connection")
        expect(connection).to_have_text("Live")
        proxy.refuse = True
        proxy.cut()
        expect(page.get_by_role("status").filter(has_text="Reconnecting…")).to_be_visible()
        shot("reconnecting")
        # Meanwhile the campaign changes: started, then stopped (3 contacts cancelled).
        api(server, "POST", f"/campaigns/{campaign['id']}/start")
        api(server, "POST", f"/campaigns/{campaign['id']}/stop")
        proxy.refuse = False
        log = page.get_by_role("region", name="Live log of transitions")
        expect(log.get_by_role("row").filter(has_text="pending → cancelled")).to_have_count(3)
        expect(page.locator(".title-bar .status")).to_have_text("stopped")
        expect(connection).not_to_have_text("Reconnecting…")


def test_the_live_log_opens_with_the_last_100_transitions(page: Page, server: Tenants) -> None:
    """A campaign opened after its transitions happened shows the newest 100 of them,
    newest first, and goes on live (issue 9: "a live log of the last 100 transitions")."""
    numbers = [f"+1415555{i:04d}" for i in range(150)]
    campaign = create(server, "Long log", "phone_number\n" + "".join(f"{n}\n" for n in numbers))
    api(server, "POST", f"/campaigns/{campaign['id']}/start")
    api(server, "POST", f"/campaigns/{campaign['id']}/stop")  # 150 contacts cancelled
    sign_in(page, server.url, server.acme)
    open_campaign(page, server, campaign)
    log = page.get_by_role("region", name="Live log of transitions")
    cancelled = log.get_by_role("row").filter(has_text="pending → cancelled")
    expect(cancelled).to_have_count(100)
    expect(cancelled.first).to_contain_text(numbers[-1])  # newest first
    expect(cancelled.last).to_contain_text(numbers[50])
    expect(log.get_by_role("row").filter(has_text=numbers[49])).to_have_count(0)
    expect(log.get_by_text("No transitions yet")).to_have_count(0)


@pytest.mark.parametrize("viewport", [PHONE], ids=["390px"])
def test_the_layout_holds_on_a_390px_phone(page: Page, server: Tenants, shot) -> None:
    campaign = create(server, "A campaign with a rather long name to wrap on a phone")
    sign_in(page, server.url, server.acme)

    def fits() -> None:
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"], f"the page is {width} px wide"

    fits()
    row = page.get_by_role("row").filter(has_text="rather long name")
    expect(row.get_by_text("0 / 3 · 0%")).to_be_in_viewport(ratio=1)
    bar = row.get_by_role("progressbar")
    expect(bar).to_be_in_viewport(ratio=1)
    box = bar.bounding_box()
    assert box is not None and box["height"] >= 8 and box["width"] >= 80, box
    shot("list")
    page.get_by_role("button", name="New campaign", exact=True).click()
    expect(page.get_by_label("Calling window end", exact=True)).to_be_visible()
    fits()
    shot("form")
    open_campaign(page, server, campaign)
    expect(page.get_by_role("region", name="Contacts table").locator("tbody tr")).to_have_count(3)
    fits()
    for name in ("Start", "Pause", "Resume", "Stop", "Delete"):
        expect(page.get_by_role("button", name=name, exact=True)).to_be_in_viewport(ratio=1)


def test_keyboard_alone_works(page: Page, server: Tenants) -> None:
    campaign = create(server, "Keyboard")
    page.goto(server.url + "/")
    expect(page.get_by_label("API key", exact=True)).to_be_focused()
    page.keyboard.type(server.acme)
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Campaigns", exact=True)).to_be_visible()
    link = page.get_by_role("link", name="Keyboard", exact=True)
    for _ in range(30):  # Tab until the campaign's link has the focus
        page.keyboard.press("Tab")
        if link.evaluate("el => el === document.activeElement"):
            break
    expect(link).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text(campaign["name"])
    start = page.get_by_role("button", name="Start", exact=True)
    start.focus()
    page.keyboard.press("Enter")
    expect(page.locator(".title-bar .status")).to_have_text("running")
    expect(page.get_by_role("button", name="Pause", exact=True)).to_be_focused()
    page.keyboard.press("Tab")  # Pause -> (Resume disabled) -> Stop
    expect(page.get_by_role("button", name="Stop", exact=True)).to_be_focused()
    page.keyboard.press("Enter")
    dialog = page.get_by_role("dialog", name="Stop this campaign?")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_role("button", name="Cancel", exact=True)).to_be_focused()
    # The page behind the modal is inert: Tab goes round the dialog's buttons (and the
    # browser's own controls, the document here), never to a control behind it.
    where = """() => {
        const el = document.activeElement;
        if (el === document.body) return 'body';
        return el.closest('dialog') ? el.textContent : 'page';
    }"""
    reached = []
    for _ in range(6):
        page.keyboard.press("Tab")
        reached.append(page.evaluate(where))
    assert "page" not in reached and {"Yes, stop", "Cancel"} <= set(reached), reached
    dialog.get_by_role("button", name="Cancel", exact=True).focus()
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    assert api(server, "GET", f"/campaigns/{campaign['id']}")["status"] == "running"
    api(server, "POST", f"/campaigns/{campaign['id']}/stop")
