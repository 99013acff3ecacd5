"""GET /devices/{id}/history and /history/{revision}: every change, filtered by kind and time,
in either order, a page at a time; still there after the device is deleted."""

import pytest

from tests.support import assert_problem, minute

# revision → kind; revision n happens at minute(n - 1)
TIMELINE = {1: "created", 2: "status", 3: "config", 4: "status", 5: "config", 6: "status"}


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
    assert by_revision[3]["changes"] == {"location": {"old": "Basement", "new": "Roof"}}
    assert by_revision[3]["snapshot"]["location"] == "Roof" and by_revision[3]["snapshot"]["config_version"] == 2
    assert by_revision[4]["changes"] == {
        "status": {"old": "online", "new": "offline"},
        "reason": {"old": None, "new": "unplugged"},
    }
    assert by_revision[4]["snapshot"] == {
        "status": "offline",
        "reason": "unplugged",
        "version": 3,
        "updated_at": minute(3),
    }
    assert by_revision[1]["changes"]["name"] == {"old": None, "new": device["name"]}
    assert {e["changed_by"] for e in by_revision.values()} == {"local"}


def test_order_asc_lists_oldest_first(invoke, device):
    assert revisions(history(invoke, device, "order=asc")) == [1, 2, 3, 4, 5, 6]


FILTERED = {
    "kind=config": [5, 3, 1],  # created counts as config
    "kind=status": [6, 4, 2],
    "kind=config&order=asc": [1, 3, 5],
    f"since={minute(2)}": [6, 5, 4, 3],  # since is inclusive
    f"until={minute(4)}": [4, 3, 2, 1],  # until is exclusive
    f"since={minute(1)}&until={minute(5)}&order=asc": [2, 3, 4, 5],
    f"kind=status&since={minute(1)}&until={minute(5)}": [4, 2],
    f"kind=config&since={minute(2)}&until={minute(4)}&order=asc": [3],
    f"since={minute(6)}": [],
    f"until={minute(0)}": [],
    "since=2026-11-27T07:02:00%2B01:00": [6, 5, 4, 3],  # an offset names the same instant
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
    assert revisions(page) == [6, 5] and page["next_cursor"]
    rest = history(invoke, device, f"limit=50&cursor={page['next_cursor']}")
    assert revisions(rest) == [4, 3, 2, 1] and rest["next_cursor"] is None


def test_a_cursor_only_pages_within_the_device_of_the_request(invoke, device, make_device):
    other = make_device()
    cursor = history(invoke, device, "limit=2")["next_cursor"]  # "after revision 5"
    # A cursor names a position, never a key: applied to another device it pages that device.
    page = history(invoke, other, f"cursor={cursor}")
    assert [(e["revision"], e["snapshot"]["name"]) for e in page["items"]] == [(1, other["name"])]


def test_entry_by_revision_is_the_listed_entry(invoke, device):
    listed = {e["revision"]: e for e in history(invoke, device)["items"]}
    for revision in TIMELINE:
        response = invoke("get_history_entry", f"/devices/{device['id']}/history/{revision}")
        assert response["statusCode"] == 200 and response["json"] == listed[revision]
    assert_problem(invoke("get_history_entry", f"/devices/{device['id']}/history/7"), 404, "history-entry-not-found")


def test_deleted_device_history_still_answers_and_ends_with_deleted(invoke, device):
    assert invoke("delete_device", f"/devices/{device['id']}")["statusCode"] == 204
    page = history(invoke, device)
    assert [(e["revision"], e["kind"]) for e in page["items"][:2]] == [(7, "deleted"), (6, "status")]
    assert revisions(history(invoke, device, "kind=config")) == [7, 5, 3, 1]  # deleted counts as config
    assert revisions(history(invoke, device, "kind=status")) == [6, 4, 2]
    assert history(invoke, device, f"since={minute(60)}") == {"items": [], "next_cursor": None}
    entry = invoke("get_history_entry", f"/devices/{device['id']}/history/7")["json"]
    assert entry["kind"] == "deleted" and entry["at"] == minute(6)


def test_an_existing_device_with_no_matching_entry_is_an_empty_page_not_404(invoke, device):
    assert history(invoke, device, f"since={minute(60)}") == {"items": [], "next_cursor": None}
    assert history(invoke, device, f"kind=status&until={minute(1)}") == {"items": [], "next_cursor": None}


def test_timestamps_at_the_edges_of_the_calendar_filter_correctly(invoke, device):
    assert revisions(history(invoke, device, "since=0999-01-01T00:00:00Z&order=asc")) == [1, 2, 3, 4, 5, 6]
    assert revisions(history(invoke, device, "until=0999-01-01T00:00:00Z")) == []
    for query in ["since=9999-12-31T23:59:59-01:00", "until=0001-01-01T00:30:00%2B01:00"]:
        problem = assert_problem(invoke("list_history", f"/devices/{device['id']}/history", query=query), 422)
        assert "out of range" in problem["detail"]


def test_history_of_an_unknown_device_is_404_even_with_filters(invoke):
    unknown = "/devices/0190f5e2-7a3b-7c1d-9e2f-3a4b5c6d7e8f/history"
    for query in ["", "kind=status", "order=asc&limit=1", f"since={minute(0)}"]:
        assert_problem(invoke("list_history", unknown, query=query), 404, "device-not-found")
