import sqlite3
from pathlib import Path

from gateway.store.database import migrate
from gateway.store.migrations import migration_files


def test_migrations_apply_once_in_order(tmp_path: Path) -> None:
    path = tmp_path / "g.db"
    names = [name for _, name, _ in migration_files()]
    assert names and names == sorted(names)
    assert migrate(path) == names
    assert migrate(path) == []  # recorded: nothing to do the second time
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    versions = [r[0] for r in conn.execute("SELECT version FROM schema_migrations ORDER BY 1")]
    assert versions == [int(n[:4]) for n in names]


def test_every_package_is_listed_for_the_wheel() -> None:
    import tomllib

    root = Path(__file__).resolve().parents[2]
    listed = set(
        tomllib.loads((root / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]
    )
    found = {
        ".".join(p.parent.relative_to(root).parts) for p in (root / "gateway").rglob("__init__.py")
    }
    assert found | {"gateway.sql"} == listed
