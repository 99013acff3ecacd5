"""GET /devices/{id}/history and /history/{revision}: every change, filtered by kind and time,
in either order, a page at a time; still there after the device is deleted."""

import json

import pytest

from registry import wiring
from registry.domain import cursors
from tests.support import assert_problem, minute, refuse_start_keys_outside_the_key_condition, start_key_refused

# revision → kind; revision n happens at minute(n - 1)
TIMELINE = {1: "created", 2: "status", 3: "liveness", 4: "config", 5: "status", 6: "config", 7: "status"}


@pytest.fixture
def device(timeline_device):
    return timeline_device


def history(invoke, device, query=""):
    response = invoke("list_history", f"/devices/{device['id']}/history", query=query)
    assert response["statusCode"] == 200, response
    return response["json"]


def revisions(page):
    return [entry["revision"] for entry in page["items"]]


def walk(invoke, device, query, limit):
    """Every page of a query; returns the revisions seen and each page's size."""
    seen, sizes, cursor = [], [], None
    while True:
        page = history(invoke, device, "&".join(filter(None, [query, f"limit={limit}", cursor and f"cursor={cursor}"])))
        seen += revisions(page)
        sizes.append(len(page["items"]))
        cursor = page["next_cursor"]
        if cursor is None:
            return seen, sizes


def test_history_lists_every_change_newest_first(invoke, device):
    page = history(invoke, device)
    assert page["next_cursor"] is None
    assert [(e["revision"], e["kind"], e["at"]) for e in page["items"]] == [
        (revision, kind, minute(revision - 1)) for revision, kind in sorted(TIMELINE.items(), reverse=True)
    ]
    assert all(set(e) == {"revision", "kind", "at", "changed_by", "changes", "snapshot"} for e in page["items"])


def test_entries_record_what_changed_and_the_state_after(invoke, device):
    by_revision = {e["revision"]: e for e in history(invoke, device, "order=asc")["items"]}
    assert by_revision[4]["changes"] == {"location": {"old": "Basement", "new": "Roof"}}
    assert by_revision[4]["snapshot"]["location"] == "Roof" and by_revision[4]["snapshot"]["config_version"] == 2
    assert by_revision[5]["changes"] == {
        "status": {"old": "online", "new": "offline"},
        "reason": {"old": None, "new": "unplugged"},
    }
    assert by_revision[5]["snapshot"] == {
        "status": "offline",
        "reason": "unplugged",
        "version": 3,
        "updated_at": minute(4),
    }
    assert by_revision[3]["changes"] == {"liveness": {"old": "pending", "new": "reporting"}}
    assert by_revision[3]["snapshot"] == {"liveness": "reporting", "last_seen_at": minute(1)}
    assert by_revision[1]["changes"]["name"] == {"old": None, "new": device["name"]}
    assert {e["revision"] for e in by_revision.values() if e["changed_by"] == "registry"} == {3}
    assert {e["changed_by"] for e in by_revision.values()} == {"local", "registry"}


def test_order_asc_lists_oldest_first(invoke, device):
    assert revisions(history(invoke, device, "order=asc")) == [1, 2, 3, 4, 5, 6, 7]


FILTERED = {
    "kind=config": [6, 4, 1],  # created counts as config
    "kind=status": [7, 5, 2],  # liveness entries are neither
    "kind=liveness": [3],
    "kind=config&order=asc": [1, 4, 6],
    f"since={minute(2)}": [7, 6, 5, 4, 3],  # since is inclusive
    f"until={minute(4)}": [4, 3, 2, 1],  # until is exclusive
    f"since={minute(1)}&until={minute(5)}&order=asc": [2, 3, 4, 5],
    f"kind=status&since={minute(1)}&until={minute(5)}": [5, 2],
    f"kind=config&since={minute(2)}&until={minute(4)}&order=asc": [4],
    f"since={minute(7)}": [],
    f"until={minute(0)}": [],
    "since=2026-11-27T07:02:00%2B01:00": [7, 6, 5, 4, 3],  # an offset names the same instant
    "since=2026-11-27T06:02:00Z&until=2026-11-27T06:02:00.001Z": [3],
}


def test_history_filters_by_kind_and_time(invoke, device, subtests):
    for query, expected in FILTERED.items():
        with subtests.test(query=query):
            page = history(invoke, device, query)
            assert revisions(page) == expected and page["next_cursor"] is None


PAGED = [
    "",
    "order=asc",
    "kind=status",
    "kind=config&order=asc",
    f"since={minute(1)}&until={minute(5)}",
    f"since={minute(1)}&order=asc",
]


def test_pages_of_limit_entries_cover_the_query_once(invoke, device, subtests):
    for query in PAGED:
        everything = revisions(history(invoke, device, query))
        for limit in (1, 2, 4):
            with subtests.test(query=query, limit=limit):
                seen, sizes = walk(invoke, device, query, limit)
                assert seen == everything
                assert all(size == limit for size in sizes[:-1]) and 0 < sizes[-1] <= limit


def test_limit_caps_a_page_and_gives_a_cursor(invoke, device):
    page = history(invoke, device, "limit=2")
    assert revisions(page) == [7, 6] and page["next_cursor"]
    rest = history(invoke, device, f"limit=50&cursor={page['next_cursor']}")
    assert revisions(rest) == [5, 4, 3, 2, 1] and rest["next_cursor"] is None


def test_a_cursor_only_pages_within_the_device_of_the_request(invoke, device, make_device):
    other = make_device()
    cursor = history(invoke, device, "limit=2")["next_cursor"]  # "after revision 6"
    # A cursor names a position, never a key: applied to another device it pages that device.
    page = history(invoke, other, f"cursor={cursor}")
    assert [(e["revision"], e["snapshot"]["name"]) for e in page["items"]] == [(1, other["name"])]


def test_entry_by_revision_is_the_listed_entry(invoke, device):
    listed = {e["revision"]: e for e in history(invoke, device)["items"]}
    for revision in TIMELINE:
        response = invoke("get_history_entry", f"/devices/{device['id']}/history/{revision}")
        assert response["statusCode"] == 200 and response["json"] == listed[revision]
    assert_problem(invoke("get_history_entry", f"/devices/{device['id']}/history/8"), 404, "history-entry-not-found")


def test_deleted_device_history_still_answers_and_ends_with_deleted(invoke, device):
    assert invoke("delete_device", f"/devices/{device['id']}")["statusCode"] == 204
    page = history(invoke, device)
    assert [(e["revision"], e["kind"]) for e in page["items"][:2]] == [(8, "deleted"), (7, "status")]
    assert revisions(history(invoke, device, "kind=config")) == [8, 6, 4, 1]  # deleted counts as config
    assert revisions(history(invoke, device, "kind=status")) == [7, 5, 2]
    assert history(invoke, device, f"since={minute(60)}") == {"items": [], "next_cursor": None}
    entry = invoke("get_history_entry", f"/devices/{device['id']}/history/8")["json"]
    assert entry["kind"] == "deleted" and entry["at"] == minute(7)


def test_an_existing_device_with_no_matching_entry_is_an_empty_page_not_404(invoke, device):
    assert history(invoke, device, f"since={minute(60)}") == {"items": [], "next_cursor": None}
    assert history(invoke, device, f"kind=status&until={minute(1)}") == {"items": [], "next_cursor": None}


def test_timestamps_at_the_edges_of_the_calendar_filter_correctly(invoke, device):
    assert revisions(history(invoke, device, "since=0999-01-01T00:00:00Z&order=asc")) == [1, 2, 3, 4, 5, 6, 7]
    assert revisions(history(invoke, device, "until=0999-01-01T00:00:00Z")) == []
    for query in ["since=9999-12-31T23:59:59-01:00", "until=0001-01-01T00:30:00%2B01:00"]:
        problem = assert_problem(invoke("list_history", f"/devices/{device['id']}/history", query=query), 422)
        assert "out of range" in problem["detail"]


def test_history_of_an_unknown_device_is_404_even_with_filters(invoke):
    unknown = "/devices/0190f5e2-7a3b-7c1d-9e2f-3a4b5c6d7e8f/history"
    for query in ["", "kind=status", "order=asc&limit=1", f"since={minute(0)}"]:
        assert_problem(invoke("list_history", unknown, query=query), 404, "device-not-found")


@pytest.fixture
def dynamodb_checks_start_keys(dynamodb):
    """The handlers' client answers as DynamoDB does (moto does not) when a Query's start key is
    outside its key condition: a ValidationException."""
    refuse_start_keys_outside_the_key_condition(wiring.dynamodb_client())


@pytest.mark.parametrize(
    ("first", "again"),
    [
        (f"since={minute(0)}", f"since={minute(6)}"),  # the cursor's entry (6 at minute 5) is before since
        (f"order=asc&until={minute(6)}", f"order=asc&until={minute(1)}"),  # ... after until
        (f"kind=status&since={minute(0)}", f"kind=status&since={minute(5)}"),
        ("", f"until={minute(2)}"),  # a cursor of the plain list, with a time window it is outside
    ],
)
def test_a_cursor_reused_with_another_time_window_is_400_not_500(
    invoke, device, dynamodb_checks_start_keys, first, again
):
    """Issue 21, item 5: DynamoDB refuses a start key outside the key condition (a 500, cached 5 s,
    before); the cursor is checked against the request's own window first."""
    cursor = history(invoke, device, "&".join(filter(None, [first, "limit=2"])))["next_cursor"]
    assert cursor
    answer = invoke("list_history", f"/devices/{device['id']}/history", query=f"{again}&cursor={cursor}")
    assert_problem(answer, 400, "invalid-cursor")


def test_every_paged_route_pages_under_dynamodb_s_start_key_check(
    invoke, device, make_device, dynamodb_checks_start_keys
):
    """The other paged routes rebuild their start key inside the request's own partition, so a
    cursor of another request (another device, filter or address) pages from its position: never
    a 500. (Credentials are not paged: at most MAX_ACTIVE, one answer.)"""
    for query in PAGED:
        assert walk(invoke, device, query, 2)[0] == revisions(history(invoke, device, query))
    other = make_device(device_type="other-type")
    listed = invoke("list_devices", "/devices", query="limit=1")["json"]
    assert listed["next_cursor"]
    for query in ("device_type=other-type", "status=unknown", f"mac_address={other['mac_address']}", "tag=none"):
        answer = invoke("list_devices", "/devices", query=f"{query}&cursor={listed['next_cursor']}")
        assert answer["statusCode"] == 200, (query, answer)
    # the device's own holder interval as a position, asked of another address
    cursor = cursors.encode_holder_cursor(minute(0), 1, device["id"])
    holders = invoke("list_mac_holders", f"/mac-addresses/{other['mac_address']}/holders", query=f"cursor={cursor}")
    assert holders["statusCode"] == 200, holders


@pytest.mark.parametrize(
    ("handler", "path"),
    [
        ("list_history", "/devices/{id}/history"),
        ("list_devices", "/devices"),
        ("list_mac_holders", "/mac-addresses/{mac}/holders"),
    ],
)
def test_a_start_key_dynamodb_refuses_anyway_is_a_400_problem_on_every_paged_route(
    invoke, device, dynamodb, handler, path
):
    """Should DynamoDB refuse a start key no check here foresaw, the answer is still the client's
    400 (invalid-cursor), never a 500 the cache keeps."""
    cursor = {
        "list_history": cursors.encode_history_cursor(3, minute(2)),
        "list_devices": cursors.encode_device_cursor(device["id"]),
        "list_mac_holders": cursors.encode_holder_cursor(minute(0), 1, device["id"]),
    }[handler]

    def refuse(params, **_):
        return start_key_refused() if "ExclusiveStartKey" in json.loads(params["body"]) else None

    wiring.dynamodb_client().meta.events.register("before-call.dynamodb.Query", refuse)
    route = path.replace("{id}", device["id"]).replace("{mac}", device["mac_address"])
    assert_problem(invoke(handler, route, query=f"cursor={cursor}"), 400, "invalid-cursor")
