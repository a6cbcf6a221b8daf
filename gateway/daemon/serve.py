"""`gateway serve`: run the app until SIGTERM/SIGINT, then stop cleanly."""

from __future__ import annotations

import structlog
from aiohttp import web

from gateway.config import Config, secret_variable
from gateway.daemon import logs, systemd
from gateway.daemon.app import create_app

log = structlog.get_logger(__name__)

SHUTDOWN_TIMEOUT = 10.0


def serve(config: Config) -> int:
    logs.configure(config.log_level, config.log_format)
    log.info(
        "starting",
        http=f"{config.http_host}:{config.http_port}",
        db=config.db_path,
        nodes=", ".join(f"{n.id}={n.username}@{n.host}:{n.port}" for n in config.nodes),
    )
    missing = [n.id for n in config.asterisk_nodes if not n.secret]
    if missing:  # a login that could only be refused: say so once, at start
        log.error(
            "asterisk nodes without an AMI secret",
            nodes=missing,
            set=[secret_variable(n) for n in missing],
        )
        return 2
    try:
        web.run_app(
            create_app(config),
            host=config.http_host,
            port=config.http_port,
            print=systemd.ready,  # called once every socket listens: READY=1
            access_log=None,
            shutdown_timeout=SHUTDOWN_TIMEOUT,
        )
    except OSError as exc:  # e.g. the port is taken: one clear line, not a traceback
        log.error("cannot serve", error=str(exc))
        return 1
    log.info("stopped")
    return 0
