"""`client.dnc` (blocking and async) against a real `gateway serve` subprocess."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest

from gateway.client import AsyncClient, BadRequestError, Client, NotFoundError
from tests.daemon_fixture import Daemon, daemon

assert daemon  # the fixture, used by name


@pytest.fixture
def client(daemon: Daemon) -> Any:
    with Client(daemon.url, daemon.key, timeout=10) as c:
        yield c
        for entry in c.dnc.list(limit=1000)["numbers"]:  # each test starts from an empty list
            c.dnc.remove(entry["phone_number"])


def test_add_list_remove_blocking(client: Client) -> None:
    assert client.dnc.add(["(415) 555-0101", "+14155550100"], reason="asked") == {
        "added": 2,
        "already": 0,
    }
    assert client.dnc.add(("4155550100", "+14155550102")) == {"added": 1, "already": 1}
    page = client.dnc.list()
    assert page["total"] == 3
    assert [n["phone_number"] for n in page["numbers"]] == [
        "+14155550100",
        "+14155550101",
        "+14155550102",
    ]
    assert [n["reason"] for n in page["numbers"]] == ["asked", "asked", ""]
    assert [n["phone_number"] for n in client.dnc.list(limit=1, offset=1)["numbers"]] == [
        "+14155550101"
    ]
    found = client.dnc.list(phone_number="415-555-0102")
    assert found["total"] == 1 and found["numbers"][0]["phone_number"] == "+14155550102"
    assert client.dnc.list(phone_number="+14155550199") == {"numbers": [], "total": 0}
    assert client.dnc.remove("+14155550102") is None  # the + travels encoded in the path
    assert client.dnc.remove("(415) 555-0101") is None
    with pytest.raises(NotFoundError):
        client.dnc.remove("+14155550101")
    assert client.dnc.list()["total"] == 1


def test_add_file_by_path_file_and_bytes(client: Client, tmp_path: Path) -> None:
    path = tmp_path / "dnc.csv"
    path.write_bytes(b"name,phone_number\nA,+14155550100\nB,4155550101\n")
    assert client.dnc.add_file(path, reason="letter") == {"added": 2, "already": 0}
    with path.open("rb") as file:
        assert client.dnc.add_file(file) == {"added": 0, "already": 2}
    assert client.dnc.add_file(b"phone_number\n+14155550102\n") == {"added": 1, "already": 0}
    reasons = {n["phone_number"]: n["reason"] for n in client.dnc.list()["numbers"]}
    assert reasons == {"+14155550100": "letter", "+14155550101": "letter", "+14155550102": ""}
    with pytest.raises(TypeError, match="binary"):
        client.dnc.add_file(io.StringIO("phone_number\n+14155550103\n"))  # type: ignore[arg-type]


def test_bad_input_raises_with_the_row_and_adds_nothing(client: Client) -> None:
    with pytest.raises(BadRequestError) as caught:
        client.dnc.add(["+14155550100", "bogus"])
    assert (caught.value.status, caught.value.field, caught.value.row) == (400, "phone_numbers", 2)
    with pytest.raises(BadRequestError) as caught:
        client.dnc.add_file(b"phone_number\n+14155550100\n\nbogus\n")
    assert (caught.value.field, caught.value.row) == ("numbers", 4)
    assert "row 4" in caught.value.message
    with pytest.raises(BadRequestError) as caught:
        client.dnc.list(phone_number="12")
    assert caught.value.field == "phone_number"
    with pytest.raises(TypeError, match="list of numbers"):
        client.dnc.add("+14155550100")  # type: ignore[arg-type]
    assert client.dnc.list()["total"] == 0


def test_another_tenant_never_sees_them(daemon: Daemon, client: Client) -> None:
    client.dnc.add(["+14155550100"])
    with Client(daemon.url, daemon.create_tenant("globex-client")) as other:
        assert other.dnc.list() == {"numbers": [], "total": 0}
        assert other.dnc.list(phone_number="+14155550100")["total"] == 0
        with pytest.raises(NotFoundError):
            other.dnc.remove("+14155550100")
    assert client.dnc.list()["total"] == 1


async def test_every_method_async(daemon: Daemon) -> None:
    async with AsyncClient(daemon.url, daemon.key) as client:
        assert await client.dnc.add(["+442079460000"], reason="async") == {
            "added": 1,
            "already": 0,
        }
        result = await client.dnc.add_file(b"phone_number\n+442079460000\n+442079460001\n")
        assert result == {"added": 1, "already": 1}
        page = await client.dnc.list(limit=10)
        assert [n["phone_number"] for n in page["numbers"]] == ["+442079460000", "+442079460001"]
        assert (await client.dnc.list(phone_number="+44 20 7946 0001"))["total"] == 1
        await client.dnc.remove("+442079460000")
        await client.dnc.remove("+442079460001")
        assert (await client.dnc.list())["total"] == 0
