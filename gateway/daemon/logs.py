"""structlog set-up: JSON lines under systemd (no terminal), readable console on a terminal."""

from __future__ import annotations

import logging
import re
import sys
from typing import Any

import structlog

# Values under these keys never reach a log line, whatever the caller binds.
_SECRET_KEYS = re.compile(r"secret|password|api_key|authorization|token", re.IGNORECASE)


def _redact(_: Any, __: str, event: dict[str, Any]) -> dict[str, Any]:
    for key in event:
        if _SECRET_KEYS.search(key):
            event[key] = "***"
    return event


def configure(level: str = "info", fmt: str = "auto") -> None:
    """structlog and the standard library (aiohttp, asyncio) through one renderer, so the
    journal holds JSON lines only."""
    console = fmt == "console" or (fmt == "auto" and sys.stderr.isatty())
    renderer: Any = (
        structlog.dev.ConsoleRenderer() if console else structlog.processors.JSONRenderer()
    )
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        _redact,
    ]
    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            *shared,
            structlog.processors.StackInfoRenderer(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        wrapper_class=structlog.stdlib.BoundLogger,
        logger_factory=structlog.stdlib.LoggerFactory(),
        cache_logger_on_first_use=True,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info if not console else _keep,
            renderer,
        ],
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(level.upper())
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)


def _keep(_: Any, __: str, event: dict[str, Any]) -> dict[str, Any]:
    return event
