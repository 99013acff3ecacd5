"""GET /devices: summaries in registration order, filters, and pages that follow next_cursor."""

import pytest

FLEET = [
    # (device_type, status)
    ("sensor", "online"),
    ("sensor", "offline"),
    ("gateway", "online"),
    ("camera", "unknown"),
    ("sensor", "online"),
    ("gateway", "error"),
    ("sensor", "unknown"),
    ("camera", "online"),
    ("sensor", "online"),
    ("gateway", "online"),
    ("sensor", "maintenance"),
    ("camera", "offline"),
]


@pytest.fixture
def fleet(make_device, invoke):
    """Twelve devices of three types in five statuses, as summaries, in registration order."""
    devices = []
    for n, (device_type, status) in enumerate(FLEET):
        device = make_device(name=f"Device {n:02d}", device_type=device_type, mac_address=f"00:00:00:00:01:{n:02x}")
        liveness = {"liveness": "pending", "last_seen_at": None}  # never reported
        if status != "unknown":
            answer = invoke("put_status", f"/devices/{device['id']}/status", body={"status": status})["json"]
            liveness = {"liveness": answer["liveness"], "last_seen_at": answer["last_seen_at"]}
        summary = {key: device[key] for key in ("id", "name", "device_type", "mac_address")} | {"status": status}
        devices.append(summary | liveness)
    return devices


def list_all(invoke, query="", limit=5):
    """Follow next_cursor to the end; returns the items and the size of each page."""
    items, sizes, cursor = [], [], None
    while True:
        page_query = "&".join(filter(None, [query, f"limit={limit}", f"cursor={cursor}" if cursor else ""]))
        response = invoke("list_devices", query=page_query)
        assert response["statusCode"] == 200, response
        page = response["json"]
        items += page["items"]
        sizes.append(len(page["items"]))
        cursor = page["next_cursor"]
        if cursor is None:
            return items, sizes
        assert len(sizes) < 100, "the cursor never ends"


def test_list_answers_summaries_in_registration_order(invoke, fleet):
    page = invoke("list_devices")["json"]
    assert page == {"items": fleet, "next_cursor": None}


def test_pages_hold_limit_items_and_cover_the_fleet_once(invoke, fleet):
    items, sizes = list_all(invoke, limit=5)
    assert sizes == [5, 5, 2]
    assert items == fleet  # no duplicate, nothing missing, order kept across pages


def test_a_fleet_that_fills_its_last_page_exactly_ends_without_an_empty_page(invoke, fleet):
    items, sizes = list_all(invoke, limit=4)
    assert sizes == [4, 4, 4] and items == fleet


FILTERS = {
    "device_type=sensor": lambda d: d["device_type"] == "sensor",
    "status=online": lambda d: d["status"] == "online",
    "device_type=gateway&status=online": lambda d: (d["device_type"], d["status"]) == ("gateway", "online"),
    "device_type=camera&status=error": lambda d: False,
    "device_type=printer": lambda d: False,
    "status=decommissioned": lambda d: False,
}
MAC_QUERIES = {
    "mac_address=00:00:00:00:01:04": True,
    "mac_address=00-00-00-00-01-04": True,
    "mac_address=0000.0000.0104": True,
    "mac_address=000000000104": True,
    "mac_address=000000000104&status=online": True,
    "mac_address=000000000104&device_type=sensor&status=online": True,
    "mac_address=000000000104&status=offline": False,
    "mac_address=000000000104&device_type=camera": False,
    "mac_address=0000000001ff": False,
}


def test_filters_select_exactly_the_matching_devices_across_pages(invoke, fleet, subtests):
    for query, keep in FILTERS.items():
        with subtests.test(query=query):
            items, _ = list_all(invoke, query, limit=2)
            assert items == [device for device in fleet if keep(device)]


def test_mac_filter_matches_any_spelling_and_combines_with_the_other_filters(invoke, fleet, subtests):
    for query, found in MAC_QUERIES.items():
        with subtests.test(query=query):
            page = invoke("list_devices", query=query)["json"]
            assert page == {"items": [fleet[4]] if found else [], "next_cursor": None}


def test_a_status_change_moves_the_device_between_status_filters(invoke, fleet):
    moved = fleet[0]
    invoke("put_status", f"/devices/{moved['id']}/status", body={"status": "decommissioned"})
    assert moved["id"] not in [d["id"] for d in list_all(invoke, "status=online")[0]]
    assert [d["id"] for d in invoke("list_devices", query="status=decommissioned")["json"]["items"]] == [moved["id"]]
    assert invoke("list_devices", query=f"mac_address={moved['mac_address']}")["json"]["items"][0]["status"] == (
        "decommissioned"
    )


def test_a_type_or_mac_change_moves_the_device_between_filters(invoke, fleet):
    moved = fleet[0]
    invoke("update_device", f"/devices/{moved['id']}", body={"device_type": "camera", "mac_address": "0a0000000001"})
    assert moved["id"] in [d["id"] for d in list_all(invoke, "device_type=camera")[0]]
    assert moved["id"] not in [d["id"] for d in list_all(invoke, "device_type=sensor")[0]]
    assert invoke("list_devices", query=f"mac_address={moved['mac_address']}")["json"]["items"] == []
    assert invoke("list_devices", query="mac_address=0a:00:00:00:00:01")["json"]["items"][0]["id"] == moved["id"]


def test_deleted_devices_leave_every_list(invoke, fleet):
    gone = fleet[4]
    invoke("delete_device", f"/devices/{gone['id']}")
    items, _ = list_all(invoke, limit=3)
    assert items == [device for device in fleet if device is not gone]
    for query in ["device_type=sensor", "status=online", "device_type=sensor&status=online"]:
        assert gone["id"] not in [d["id"] for d in list_all(invoke, query)[0]]
    assert invoke("list_devices", query=f"mac_address={gone['mac_address']}")["json"]["items"] == []


def test_a_cursor_stays_valid_when_its_last_device_is_deleted(invoke, fleet):
    first = invoke("list_devices", query="limit=3")["json"]
    invoke("delete_device", f"/devices/{first['items'][-1]['id']}")
    rest = invoke("list_devices", query=f"limit=50&cursor={first['next_cursor']}")["json"]
    assert rest["items"] == fleet[3:]


def test_empty_registry_lists_nothing(invoke):
    assert invoke("list_devices")["json"] == {"items": [], "next_cursor": None}


def _details(invoke, query="", limit=5):
    return list_all(invoke, "&".join(filter(None, [query, "view=detail"])), limit=limit)


def test_a_detail_page_holds_each_devices_detail_and_status_as_their_own_routes_answer(invoke, fleet):
    page = invoke("list_devices", query="view=detail&limit=5")["json"]
    summaries = invoke("list_devices", query="limit=5")["json"]
    assert [item["id"] for item in page["items"]] == [item["id"] for item in summaries["items"]]
    assert page["next_cursor"] == summaries["next_cursor"]  # the same page, the same cursor
    for item in page["items"]:
        detail = invoke("get_device", f"/devices/{item['id']}")["json"]
        status = invoke("get_status", f"/devices/{item['id']}/status")["json"]
        assert item == {**detail, "status": status}


def test_detail_pages_follow_the_filters_and_cursors_of_summary_pages(invoke, fleet, subtests):
    for query in ["", *FILTERS, "mac_address=000000000104&status=online", "name_prefix=Device%200"]:
        with subtests.test(query=query):
            details, detail_sizes = _details(invoke, query, limit=2)
            summaries, sizes = list_all(invoke, query, limit=2)
            assert detail_sizes == sizes
            summarised = [
                {
                    **{k: d[k] for k in ("id", "name", "device_type", "mac_address")},
                    **{k: d["status"][k] for k in ("status", "liveness", "last_seen_at")},
                }
                for d in details
            ]
            assert summarised == summaries


def test_a_detail_page_shows_the_latest_status_and_leaves_out_a_deleted_device(invoke, fleet):
    changed, gone = fleet[0], fleet[1]
    invoke("put_status", f"/devices/{changed['id']}/status", body={"status": "error", "reason": "overheating"})
    invoke("delete_device", f"/devices/{gone['id']}")
    details, _ = _details(invoke, limit=50)
    assert gone["id"] not in [d["id"] for d in details]
    first = details[0]
    assert (first["id"], first["status"]["status"], first["status"]["reason"]) == (
        changed["id"],
        "error",
        "overheating",
    )
    assert first["status"]["version"] == 3  # registered (1), online (2), error (3)


def test_an_empty_registry_answers_an_empty_detail_page(invoke):
    assert invoke("list_devices", query="view=detail")["json"] == {"items": [], "next_cursor": None}


def test_view_summary_is_the_default_answer(invoke, fleet):
    assert invoke("list_devices", query="view=summary")["json"] == invoke("list_devices")["json"]
