"""The web dashboard: `GET /` and its static files, shipped in the package
(gateway/http/static/), no build step, nothing fetched from elsewhere.

Every asset is served under `/assets/<version>/<name>`, where the version is a hash of
all the files' contents computed once at start-up: a changed file changes every URL, so
assets may be cached for a year (`immutable`) and index.html, which names them, is
revalidated on every load (`no-cache` with an ETag). Relative `import './x.js'` between
the ES modules resolve inside the same versioned folder.

Every response of the daemon (API and SSE included) carries the security headers: a
Content-Security-Policy with no inline script, no inline style and no `eval`, `nosniff`,
no framing, no referrer.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from importlib import resources

from aiohttp import web

routes = web.RouteTableDef()

CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
}
ASSET_CACHE = "public, max-age=31536000, immutable"
INDEX_CACHE = "no-cache"
ASSETS_MARK = "%ASSETS%"  # in index.html: replaced by /assets/<version>
TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".html": "text/html; charset=utf-8",
}


@dataclass(frozen=True)
class Asset:
    body: bytes
    content_type: str
    etag: str


@dataclass(frozen=True)
class Bundle:
    version: str
    index: Asset
    assets: dict[str, Asset]


def _asset(body: bytes, content_type: str) -> Asset:
    return Asset(body, content_type, '"' + hashlib.sha256(body).hexdigest()[:32] + '"')


def load_bundle() -> Bundle:
    """Read the packaged files once; the version hashes every one of them."""
    folder = resources.files("gateway.http") / "static"
    files = {
        entry.name: entry.read_bytes()
        for entry in folder.iterdir()
        if entry.is_file() and "." + entry.name.rsplit(".", 1)[-1] in TYPES
    }
    digest = hashlib.sha256()
    for name in sorted(files):
        digest.update(name.encode() + b"\0" + files[name] + b"\0")
    version = digest.hexdigest()[:16]
    index = files.pop("index.html").replace(ASSETS_MARK.encode(), f"/assets/{version}".encode())
    assets = {
        name: _asset(body, TYPES["." + name.rsplit(".", 1)[-1]]) for name, body in files.items()
    }
    return Bundle(version, _asset(index, TYPES[".html"]), assets)


BUNDLE = web.AppKey("dashboard", Bundle)


def _serve(request: web.Request, asset: Asset, cache: str) -> web.Response:
    headers = {"Cache-Control": cache, "ETag": asset.etag}
    if asset.etag in request.headers.get("If-None-Match", ""):
        return web.Response(status=304, headers=headers)
    return web.Response(body=asset.body, headers={**headers, "Content-Type": asset.content_type})


@routes.get("/")
async def index(request: web.Request) -> web.Response:
    """The single page; it reads everything else from the API with the tenant's key."""
    return _serve(request, request.app[BUNDLE].index, INDEX_CACHE)


@routes.get("/assets/{version}/{name}")
async def asset(request: web.Request) -> web.Response:
    bundle = request.app[BUNDLE]
    found = bundle.assets.get(request.match_info["name"])
    if request.match_info["version"] != bundle.version or found is None:
        raise web.HTTPNotFound()
    return _serve(request, found, ASSET_CACHE)


async def _security_headers(request: web.Request, response: web.StreamResponse) -> None:
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)


def setup(app: web.Application) -> None:
    app[BUNDLE] = load_bundle()
    app.on_response_prepare.append(_security_headers)
    app.add_routes(routes)
