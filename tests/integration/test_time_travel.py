"""Time travel reads: a device and its status as they were at a past time (``as_of``), and what
differs between any two of its revisions (``/diff``), deleted devices included."""

import pytest

from registry.storage import keys as table
from tests.support import TABLE_NAME, assert_problem, minute

# revision n happens at minute(n - 1):
# 1 created (Basement) · 2 status online · 3 config Roof · 4 status offline "unplugged"
# 5 config firmware 2.0 · 6 status online


@pytest.fixture
def device(timeline_device):
    return timeline_device


def as_of(invoke, handler, device, at):
    suffix = "/status" if handler == "get_status" else ""
    return invoke(handler, f"/devices/{device['id']}{suffix}", query=f"as_of={at}")


def diff(invoke, device, query):
    return invoke("diff_device", f"/devices/{device['id']}/diff", query=query)


def half_past(n):
    return minute(n).replace(":00.000Z", ":30.000Z")


@pytest.mark.parametrize(
    ("at", "location", "firmware", "config_version", "updated"),
    [
        (minute(0), "Basement", None, 1, 0),
        (half_past(1), "Basement", None, 1, 0),
        (half_past(2), "Basement", None, 1, 0),  # a liveness entry leaves the attributes as they were
        (minute(3), "Roof", None, 2, 3),
        (half_past(4), "Roof", None, 2, 3),
        (minute(5), "Roof", "2.0", 3, 5),
        ("2026-11-27T05:05:30-01:00", "Roof", "2.0", 3, 5),  # any offset: 06:05:30Z
    ],
)
def test_device_as_of_a_time_is_the_attributes_then_in_force(
    device, invoke, at, location, firmware, config_version, updated
):
    response = as_of(invoke, "get_device", device, at)

    assert response["statusCode"] == 200, response
    detail = response["json"]
    assert (detail["location"], detail["firmware_version"], detail["config_version"]) == (
        location,
        firmware,
        config_version,
    )
    assert (detail["id"], detail["created_at"], detail["updated_at"]) == (device["id"], minute(0), minute(updated))
    assert "ETag" not in response["headers"]


@pytest.mark.parametrize(
    ("at", "status", "reason", "version", "updated", "liveness"),
    [
        (minute(0), "unknown", None, 1, 0, "pending"),
        (minute(1), "online", None, 2, 1, "pending"),  # its first report; the registry records it next
        (half_past(2), "online", None, 2, 1, "reporting"),  # a liveness entry carries the status in force
        (half_past(3), "online", None, 2, 1, "reporting"),  # and a config entry too
        (minute(4), "offline", "unplugged", 3, 4, "reporting"),
        (minute(5), "offline", "unplugged", 3, 4, "reporting"),
        (minute(6), "online", None, 4, 6, "reporting"),
    ],
)
def test_status_as_of_a_time_is_the_status_then_in_force(
    device, invoke, at, status, reason, version, updated, liveness
):
    response = as_of(invoke, "get_status", device, at)

    assert response["statusCode"] == 200, response
    assert response["json"] == {
        "device_id": device["id"],
        "status": status,
        "reason": reason,
        "version": version,
        "updated_at": minute(updated),
        "liveness": liveness,
        "last_seen_at": None if liveness == "pending" else minute(1),
    }
    assert "ETag" not in response["headers"]


@pytest.mark.parametrize("handler", ["get_device", "get_status"])
def test_as_of_before_registration_is_404(device, invoke, handler):
    problem = assert_problem(as_of(invoke, handler, device, "2026-11-27T05:59:59.999Z"), 404, "device-not-found")
    assert "did not exist at 2026-11-27T05:59:59.999Z" in problem["detail"]


@pytest.mark.parametrize("handler", ["get_device", "get_status"])
def test_a_deleted_device_answers_as_of_while_it_existed_and_404_from_its_deletion(device, invoke, handler):
    assert invoke("delete_device", f"/devices/{device['id']}")["statusCode"] == 204  # at minute(7)

    assert as_of(invoke, handler, device, half_past(6))["statusCode"] == 200
    assert_problem(as_of(invoke, handler, device, minute(7)), 404, "device-not-found")
    assert_problem(as_of(invoke, handler, device, half_past(7)), 404, "device-not-found")


@pytest.mark.parametrize("handler", ["get_device", "get_status"])
def test_as_of_an_unknown_device_is_404(ticking_clock, invoke, handler):
    unknown = {"id": "0190f5e2-7a3b-7c1d-9e2f-3a4b5c6d7e8f"}
    assert_problem(as_of(invoke, handler, unknown, minute(0)), 404, "device-not-found")


@pytest.mark.parametrize("handler", ["get_device", "get_status"])
def test_as_of_in_the_future_is_422_naming_it(device, invoke, handler):
    problem = assert_problem(as_of(invoke, handler, device, "2099-01-01T00:00:00Z"), 422, "validation-failed")
    assert [error["field"] for error in problem["errors"]] == ["as_of"]


@pytest.mark.parametrize("handler", ["get_device", "get_status"])
@pytest.mark.parametrize("value", ["yesterday", "2026-11-27T06:00:00", "2026-02-30T00:00:00Z", ""])
def test_a_malformed_as_of_is_422_naming_it(device, invoke, handler, value):
    problem = assert_problem(as_of(invoke, handler, device, value), 422, "validation-failed")
    assert [error["field"] for error in problem["errors"]] == ["as_of"]


def test_without_as_of_the_current_answer_keeps_its_etag(device, invoke):
    response = invoke("get_device", f"/devices/{device['id']}")
    assert response["headers"]["ETag"] == '"3"'


# -- diff --------------------------------------------------------------------------------


def test_diff_between_two_revisions_lists_each_field_that_differs(device, invoke):
    response = diff(invoke, device, "from=1&to=7")

    assert response["statusCode"] == 200, response
    assert response["json"] == {
        "device_id": device["id"],
        "from": 1,
        "to": 7,
        "changes": {
            "location": {"old": "Basement", "new": "Roof"},
            "firmware_version": {"old": None, "new": "2.0"},
            "status": {"old": "unknown", "new": "online"},
        },
    }


def test_diff_the_other_way_round_swaps_old_and_new(device, invoke):
    changes = diff(invoke, device, "from=5&to=2")["json"]["changes"]

    assert changes == {
        "location": {"old": "Roof", "new": "Basement"},
        "status": {"old": "offline", "new": "online"},
        "reason": {"old": "unplugged", "new": None},
    }


def test_diff_to_defaults_to_the_latest_revision(device, invoke):
    assert diff(invoke, device, "from=4")["json"] == diff(invoke, device, "from=4&to=7")["json"]
    assert diff(invoke, device, "from=7")["json"]["changes"] == {}


def test_a_liveness_revision_changes_nothing_a_diff_compares(device, invoke):
    assert diff(invoke, device, "from=2&to=3")["json"]["changes"] == {}


def test_diff_attributes_key_by_key(ticking_clock, make_device, invoke):
    device = make_device(attributes={"rack": "A1", "zone": "north"})
    invoke("update_device", f"/devices/{device['id']}", body={"attributes": {"rack": "B2", "zone": None, "row": "3"}})

    assert diff(invoke, device, "from=1")["json"]["changes"] == {
        "attributes.rack": {"old": "A1", "new": "B2"},
        "attributes.row": {"old": None, "new": "3"},
        "attributes.zone": {"old": "north", "new": None},
    }


def test_diff_of_a_deleted_device_still_answers(device, invoke):
    assert invoke("delete_device", f"/devices/{device['id']}")["statusCode"] == 204

    response = diff(invoke, device, "from=1")
    assert (response["statusCode"], response["json"]["to"]) == (200, 8)
    assert response["json"]["changes"]["location"] == {"old": "Basement", "new": "Roof"}


@pytest.mark.parametrize("query", ["from=0", "from=8", "from=1&to=8", "from=1&to=0", f"from={table.MAX_REVISION}"])
def test_a_revision_the_device_does_not_have_is_404_naming_the_latest(device, invoke, query):
    problem = assert_problem(diff(invoke, device, query), 404, "history-entry-not-found")
    assert "latest revision is 7" in problem["detail"]


def test_another_devices_revision_is_404_naming_this_ones_latest(device, make_device, invoke):
    other = make_device()
    problem = assert_problem(diff(invoke, other, "from=5"), 404, "history-entry-not-found")
    assert "latest revision is 1" in problem["detail"]


def test_diff_of_an_unknown_device_is_404(ticking_clock, invoke):
    unknown = {"id": "0190f5e2-7a3b-7c1d-9e2f-3a4b5c6d7e8f"}
    assert_problem(diff(invoke, unknown, "from=1"), 404, "device-not-found")
    assert_problem(diff(invoke, unknown, "from=1&to=2"), 404, "device-not-found")


@pytest.mark.parametrize(
    ("query", "field"),
    [
        *[("from=abc", "from"), ("from=-1", "from"), ("from=1&to=x", "to"), ("from=1.5", "from"), ("", "from")],
        # one spelling per cache key (issue 21, item 10)
        *[("from=1.0", "from"), ("from=01", "from"), ("from=%2B1", "from"), ("from=1&to=%202", "to")],
    ],
)
def test_a_malformed_or_missing_revision_is_422_naming_it(device, invoke, query, field):
    problem = assert_problem(diff(invoke, device, query), 422, "validation-failed")
    assert [error["field"] for error in problem["errors"]] == [field]


# -- entries written before history entries carried created_at and the status in force ----


@pytest.fixture
def as_written_before(dynamodb, device):
    """The device's history as the code before time travel wrote it: no ``created_at``, no
    ``status_then`` on any entry."""
    pk = {"S": table.device_pk(device["id"])}
    items = dynamodb.query(
        TableName=TABLE_NAME, KeyConditionExpression="pk = :pk", ExpressionAttributeValues={":pk": pk}
    )["Items"]
    for item in items:
        if item["sk"]["S"] != table.STATE_SK:
            key = {"pk": item["pk"], "sk": item["sk"]}
            dynamodb.update_item(TableName=TABLE_NAME, Key=key, UpdateExpression="REMOVE created_at, status_then")
    return device


def test_entries_written_before_answer_the_same(device, invoke, as_written_before):
    for at in (minute(0), half_past(2), minute(4)):
        assert as_of(invoke, "get_device", device, at)["json"]["created_at"] == minute(0)
    assert as_of(invoke, "get_status", device, half_past(2))["json"]["status"] == "online"
    assert as_of(invoke, "get_status", device, minute(0))["json"]["status"] == "unknown"
    assert diff(invoke, device, "from=4&to=6")["json"]["changes"] == {
        "firmware_version": {"old": None, "new": "2.0"},
        "status": {"old": "online", "new": "offline"},
        "reason": {"old": None, "new": "unplugged"},
    }
