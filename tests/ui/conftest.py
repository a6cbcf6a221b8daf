"""Browser tests: Playwright (sync API) driving Debian's chromium against a real
`gateway serve`. No browser is downloaded: scripts/test installs the `chromium` package.

Every test leaves a screenshot in test-output/ui/ at the top of the repository
(`<test name>.png`, plus the named steps a test saves itself); the folder is ignored by git.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, Playwright, expect, sync_playwright

from tests.daemon_fixture import Daemon

REPO = Path(__file__).resolve().parents[2]
OUTPUT = REPO / "test-output" / "ui"
CHROMIUM = "/usr/bin/chromium"
# Without the background-networking flags chromium waits on the closed network.
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}

expect.set_options(timeout=10_000)


@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="module")
def browser(playwright: Playwright) -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install chromium (scripts/test does)")
    launched = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
    yield launched
    launched.close()


class Tenants:
    """The daemon and two tenants' keys."""

    def __init__(self, daemon: Daemon, acme: str, globex: str) -> None:
        self.daemon = daemon
        self.url = daemon.url
        self.acme = acme
        self.globex = globex


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Tenants]:
    """A daemon without Asterisk (its AMI port is closed: campaigns start but never dial)
    and two tenants, `acme` and `globex`."""
    daemon = Daemon(tmp_path_factory.mktemp("ui-daemon"))
    acme = daemon.create_tenant("acme", max_calls=20, cps=5)
    globex = daemon.create_tenant("globex", max_calls=20, cps=5)
    daemon.start()
    try:
        yield Tenants(daemon, acme, globex)
    finally:
        assert daemon.stop() == 0, daemon.log.read_text()[-2000:]


class Problems:
    """What the page complained about: CSP violations, script errors."""

    def __init__(self) -> None:
        self.messages: list[str] = []

    def console(self, message: ConsoleMessage) -> None:
        text = message.text
        failed_fetch = text.startswith("Failed to load resource")  # a 401 or 404 we expect
        if (message.type == "error" and not failed_fetch) or "Content Security Policy" in text:
            self.messages.append(text)

    def page_error(self, error: Exception) -> None:
        self.messages.append(f"page error: {error}")


def shot_name(request: pytest.FixtureRequest, step: str = "") -> Path:
    OUTPUT.mkdir(parents=True, exist_ok=True)
    name = re.sub(r"[^\w.-]+", "_", request.node.name)
    return OUTPUT / f"{name}{'-' + step if step else ''}.png"


@pytest.fixture
def viewport() -> dict[str, int]:
    return DESKTOP


@pytest.fixture
def page(
    browser: Browser, request: pytest.FixtureRequest, viewport: dict[str, int]
) -> Iterator[Page]:
    context = browser.new_context(viewport=viewport, accept_downloads=True)
    opened = context.new_page()
    problems = Problems()
    opened.on("console", problems.console)
    opened.on("pageerror", problems.page_error)
    try:
        yield opened
        opened.screenshot(path=shot_name(request), full_page=True)
    finally:
        context.close()
    assert not problems.messages, problems.messages


@pytest.fixture
def shot(page: Page, request: pytest.FixtureRequest):  # type: ignore[no-untyped-def]
    """shot("step"): a full-page screenshot of this step of the test."""

    def take(step: str) -> Path:
        path = shot_name(request, step)
        page.screenshot(path=path, full_page=True)
        return path

    return take


def sign_in(page: Page, url: str, key: str) -> None:
    page.goto(url + "/")
    page.get_by_label("API key", exact=True).fill(key)
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page.get_by_role("heading", name="Campaigns", exact=True)).to_be_visible()


def upload(page: Page, csv: str, name: str = "contacts.csv") -> None:
    page.get_by_label("Contacts CSV", exact=True).set_input_files(
        files=[{"name": name, "mimeType": "text/csv", "buffer": csv.encode()}]
    )
