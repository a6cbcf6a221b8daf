"""GET / and its files: the headers (CSP, nosniff, caching), no inline script or style,
and the files really are in a built wheel."""

from __future__ import annotations

import re
import subprocess
import sys
import zipfile
from html.parser import HTMLParser
from pathlib import Path

from gateway.http.dashboard import CSP, load_bundle
from tests.helpers import Api

REPO = Path(__file__).resolve().parents[2]
STATIC = REPO / "gateway" / "http" / "static"


async def test_the_page_and_its_assets_carry_strict_headers(api: Api) -> None:
    index = await api.client.get("/")
    assert index.status == 200
    assert index.headers["Content-Type"].startswith("text/html")
    assert index.headers["Content-Security-Policy"] == CSP
    assert "script-src 'self';" in CSP and "style-src 'self';" in CSP
    assert "unsafe-inline" not in CSP and "unsafe-eval" not in CSP
    assert index.headers["X-Content-Type-Options"] == "nosniff"
    assert index.headers["Cache-Control"] == "no-cache"
    html = await index.text()
    assets = re.findall(r'(?:src|href)="(/assets/[^"]+)"', html)
    assert len(assets) == 3 and "%ASSETS%" not in html
    version = load_bundle().version
    for path in assets:
        assert path.startswith(f"/assets/{version}/")
        response = await api.client.get(path)
        assert response.status == 200, path
        assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable"
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Content-Security-Policy"] == CSP
    script = await api.client.get(f"/assets/{version}/main.js")
    assert script.headers["Content-Type"] == "text/javascript; charset=utf-8"
    again = await api.client.get("/", headers={"If-None-Match": index.headers["ETag"]})
    assert again.status == 304
    stale = await api.client.get("/assets/0000000000000000/main.js")
    assert stale.status == 404
    missing = await api.client.get(f"/assets/{version}/nope.js")
    assert missing.status == 404
    # The API's answers carry the security headers too.
    listed = await api.request("GET", "/campaigns")
    assert listed.headers["X-Content-Type-Options"] == "nosniff"
    assert listed.headers["Content-Security-Policy"] == CSP


def test_the_version_hashes_every_file(tmp_path: Path) -> None:
    bundle = load_bundle()
    names = {p.name for p in STATIC.iterdir()} - {"index.html"}
    assert set(bundle.assets) == names
    assert re.fullmatch(r"[0-9a-f]{16}", bundle.version)


class _Inline(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.problems: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        names = {name for name, _ in attrs}
        if tag == "script" and "src" not in names:
            self.problems.append("inline <script>")
        if tag == "style":
            self.problems.append("<style> element")
        for name in names:
            if name.startswith("on") or name == "style":
                self.problems.append(f"{name}= on <{tag}>")


def test_no_inline_script_style_or_html_parsing() -> None:
    parser = _Inline()
    parser.feed((STATIC / "index.html").read_text())
    assert parser.problems == []
    for path in STATIC.glob("*.js"):
        text = path.read_text()
        for banned in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("):
            assert banned not in text, f"{path.name} uses {banned}"
        assert "new Function" not in text
        assert "localStorage" not in text and "document.cookie" not in text, path.name
        assert "setAttribute('style'" not in text, path.name


def test_a_built_wheel_ships_the_dashboard(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
         "-w", str(tmp_path), str(REPO)],
        check=True, capture_output=True, timeout=240,
    )  # fmt: skip
    wheel = next(tmp_path.glob("campaign_gateway-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    for path in STATIC.iterdir():
        assert f"gateway/http/static/{path.name}" in names, path.name
