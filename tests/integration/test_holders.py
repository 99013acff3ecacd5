"""GET /mac-addresses/{mac}/holders and GET /ip-addresses/{ip}/holders: every device that held an
address and when, newest first, written in the transaction of the change that moves it."""

from __future__ import annotations

import pytest

from tests.support import assert_problem, error_fields

MAC, OTHER_MAC = "02:00:04:00:00:01", "02:00:04:00:00:02"
IP, OTHER_IP = "2001:db8::1", "192.0.2.77"


def holders(invoke, kind, address, query=""):
    handler, base = ("list_mac_holders", "mac-addresses") if kind == "mac" else ("list_ip_holders", "ip-addresses")
    response = invoke(handler, f"/{base}/{address}/holders", query=query)
    assert response["statusCode"] == 200, response
    return response["json"]


def spans(page):
    return [(item["device_id"], item["until"] is None) for item in page["items"]]


def test_every_move_of_an_address_opens_and_closes_intervals(invoke):
    first = invoke("create_device", body={"name": "A", "device_type": "sensor", "mac_address": MAC, "ip_address": IP})[
        "json"
    ]
    a = f"/devices/{first['id']}"
    page = holders(invoke, "mac", "02-00-04-00-00-01")  # any spelling
    assert page == {
        "items": [{"device_id": first["id"], "from": first["created_at"], "until": None}],
        "next_cursor": None,
    }
    assert spans(holders(invoke, "ip", "2001:0DB8:0:0::1")) == [(first["id"], True)]
    # Percent-encoded separators, as clients send an IPv6 address in a path.
    assert spans(holders(invoke, "ip", "2001%3Adb8%3A%3A1")) == [(first["id"], True)]
    assert spans(holders(invoke, "mac", "02%3A00%3A04%3A00%3A00%3A01")) == [(first["id"], True)]

    # PATCH moves the MAC: the old interval closes, the new one opens, at the change's time.
    moved = invoke("update_device", a, body={"mac_address": OTHER_MAC, "ip_address": None})["json"]
    old = holders(invoke, "mac", MAC)["items"]
    assert old == [{"device_id": first["id"], "from": first["created_at"], "until": moved["updated_at"]}]
    assert holders(invoke, "mac", OTHER_MAC)["items"] == [
        {"device_id": first["id"], "from": moved["updated_at"], "until": None}
    ]
    assert spans(holders(invoke, "ip", IP)) == [(first["id"], False)]

    # Another device takes the freed MAC: newest first.
    second = invoke("create_device", body={"name": "B", "device_type": "sensor", "mac_address": MAC})["json"]
    assert spans(holders(invoke, "mac", MAC)) == [(second["id"], True), (first["id"], False)]

    # A status change moves nothing; delete closes, restore opens again.
    invoke("put_status", f"{a}/status", body={"status": "online"})
    assert invoke("delete_device", a)["statusCode"] == 204
    assert spans(holders(invoke, "mac", OTHER_MAC)) == [(first["id"], False)]
    restored = invoke("restore_device", f"{a}/restore", body={})
    assert restored["statusCode"] == 200
    assert spans(holders(invoke, "mac", OTHER_MAC)) == [(first["id"], True), (first["id"], False)]

    # Revert moves the addresses like a PATCH (revision 1: MAC taken by B now → 409, nothing written).
    assert invoke("revert_device", f"{a}/revert", body={"to_revision": 1})["statusCode"] == 409
    assert spans(holders(invoke, "ip", IP)) == [(first["id"], False)]
    invoke("update_device", f"/devices/{second['id']}", body={"mac_address": "02:00:04:00:00:09"})
    assert invoke("revert_device", f"{a}/revert", body={"to_revision": 1})["statusCode"] == 200
    assert spans(holders(invoke, "mac", MAC)) == [(first["id"], True), (second["id"], False), (first["id"], False)]
    assert spans(holders(invoke, "ip", IP)) == [(first["id"], True), (first["id"], False)]
    assert spans(holders(invoke, "mac", OTHER_MAC))[0] == (first["id"], False)


def test_an_ip_held_by_several_devices_at_once_pages_newest_first(invoke):
    ids = [
        invoke(
            "create_device",
            body={
                "name": f"D{n}",
                "device_type": "sensor",
                "mac_address": f"02:00:05:00:00:{n:02x}",
                "ip_address": OTHER_IP,
            },
        )["json"]["id"]
        for n in range(5)
    ]
    seen, cursor = [], None
    while True:
        page = holders(invoke, "ip", OTHER_IP, "limit=2" + (f"&cursor={cursor}" if cursor else ""))
        assert len(page["items"]) <= 2
        seen += [item["device_id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert sorted(seen) == sorted(ids) and len(seen) == 5
    froms = [item["from"] for item in holders(invoke, "ip", OTHER_IP)["items"]]
    assert froms == sorted(froms, reverse=True)


def test_an_address_never_held_is_an_empty_page(invoke):
    assert holders(invoke, "mac", "02:00:06:00:00:01") == {"items": [], "next_cursor": None}
    assert holders(invoke, "ip", "10.9.8.7") == {"items": [], "next_cursor": None}


@pytest.mark.parametrize(
    ("handler", "path", "field"),
    [
        ("list_mac_holders", "/mac-addresses/00:1a:2b:3c:4d:5g/holders", "mac"),
        ("list_mac_holders", "/mac-addresses/00:1a:2b/holders", "mac"),
        ("list_ip_holders", "/ip-addresses/300.1.2.3/holders", "ip"),
        ("list_ip_holders", "/ip-addresses/fe80::1%25eth0/holders", "ip"),
    ],
)
def test_a_malformed_address_is_422_naming_the_parameter(invoke, handler, path, field):
    problem = assert_problem(invoke(handler, path), 422)
    assert field in error_fields(problem)


@pytest.mark.parametrize("query", ["limit=0", "limit=101", "limit=x", "limit=1.0", "limit=%2B5", "limit=05"])
def test_an_out_of_range_limit_is_422(invoke, query):
    problem = assert_problem(invoke("list_mac_holders", f"/mac-addresses/{MAC}/holders", query=query), 422)
    assert "limit" in error_fields(problem)


@pytest.mark.parametrize(
    "cursor", ["nope", "eyJkIjoxfQ", "eyJmIjoiMjAyNi0wMS0wMVQwMDowMDowMC4wMDBaIiwiciI6MCwiZCI6IngifQ"]
)
def test_a_cursor_not_issued_by_the_api_is_400(invoke, cursor):
    assert_problem(invoke("list_ip_holders", f"/ip-addresses/{OTHER_IP}/holders", query=f"cursor={cursor}"), 400)
