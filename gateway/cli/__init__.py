"""The `gateway` command: `admin` (serve, migrate, tenants, keys: on the database) and
`campaigns` (`gateway campaigns ...`: through the API)."""

from gateway.cli.admin import build_parser, main

__all__ = ["build_parser", "main"]
