"""Free text is refused when it would not show what it says (issue 21, item 9;
registry/domain/text.py): a control character (NUL, ESC, a newline inside), a bidirectional
override or isolate, or a value of invisible characters only is a 422 naming the field, on every
route that writes text, and changes nothing."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support import DeviceBodies, assert_problem, error_fields

BAD_TEXTS = {
    "NUL": "a\x00b",
    "escape sequence": "\x1b[2Jwiped",
    "newline inside": "line one\nline two",
    "C1 control": "a\x9bb",
    "bidi override": "invoice\u202efdp.exe",
    "bidi isolate": "\u2066evil\u2069",
    "line separator": "a\u2028b",
    "zero-width only": "\u200b\u200d\u2060",
    "BOM and filler only": "\ufeff\u3164",
}
# Trimmed fields (name, device_type) lose surrounding whitespace first; that is not the case here.
STILL_FINE = ["plain", "Zoë's 🌡️ sensor", "\u0645\u0633\u062a\u0634\u0639\u0631 \u200f1", "👩\u200d🔧 bench"]


@pytest.fixture
def bodies() -> DeviceBodies:
    return DeviceBodies()


def writes(device: dict[str, Any], bodies: DeviceBodies) -> dict[str, Any]:
    """(handler, path, body with the text in, the field the problem names) per text field."""
    path = f"/devices/{device['id']}"
    return {
        "name": lambda t: ("create_device", None, bodies(name=t), "name"),
        "device_type": lambda t: ("create_device", None, bodies(device_type=t), "device_type"),
        "firmware_version": lambda t: ("create_device", None, bodies(firmware_version=t), "firmware_version"),
        "serial_number": lambda t: ("update_device", path, {"serial_number": t}, "serial_number"),
        "location": lambda t: ("update_device", path, {"location": t}, "location"),
        "patched name": lambda t: ("update_device", path, {"name": t}, "name"),
        "attribute value": lambda t: ("update_device", path, {"attributes": {"note": t}}, "attributes.note"),
        "status reason": lambda t: ("put_status", f"{path}/status", {"status": "error", "reason": t}, "reason"),
        "revert reason": lambda t: ("revert_device", f"{path}/revert", {"to_revision": 1, "reason": t}, "reason"),
    }


@pytest.mark.parametrize("bad", BAD_TEXTS.values(), ids=BAD_TEXTS.keys())
def test_every_text_field_refuses_invisible_or_control_text_naming_the_field(
    invoke, make_device, table_items, bodies, subtests, bad
):
    device = make_device()
    before = table_items()
    for field, write in writes(device, bodies).items():
        handler, path, body, named = write(bad)
        with subtests.test(field=field):
            problem = assert_problem(invoke(handler, path, body=body), 422, "validation-failed")
            assert named in error_fields(problem), problem
    assert table_items() == before


@pytest.mark.parametrize("fine", STILL_FINE)
def test_visible_text_with_emoji_joiners_and_right_to_left_marks_is_kept_as_sent(invoke, make_device, bodies, fine):
    device = make_device()
    patched = invoke("update_device", f"/devices/{device['id']}", body={"location": fine, "name": fine})
    assert patched["statusCode"] == 200, patched
    assert (patched["json"]["location"], patched["json"]["name"]) == (fine, fine)


def test_the_batch_routes_refuse_it_per_item_naming_the_field(invoke, make_device, bodies):
    device = make_device()
    registered = invoke("create_devices", body={"devices": [bodies(name="\u200b"), bodies(location="ok")]})["json"]
    assert [result["status"] for result in registered["results"]] == [422, 201]
    assert [error["field"] for error in registered["results"][0]["problem"]["errors"]] == ["name"]
    reports = {"reports": [{"device_id": device["id"], "status": "error", "reason": "disk\x00full"}]}
    reported = invoke("report_statuses", body=reports)["json"]
    assert [result["status"] for result in reported["results"]] == [422]
    assert [error["field"] for error in reported["results"][0]["problem"]["errors"]] == ["reason"]


def test_a_device_s_own_status_report_refuses_a_bidi_override_in_its_reason(invoke, make_device):
    """The issue's case: a stolen device credential writing ``reason``, which operators read."""
    device = make_device()
    credential = invoke("create_credential", f"/devices/{device['id']}/credentials", body={})["json"]
    as_device = {
        "device_id": device["id"],
        "credential_id": credential["credential_id"],
        "principalId": f"device:{credential['credential_id']}",
    }
    body = {"status": "error", "reason": "ok\u202e lanigiro eht"}
    problem = assert_problem(invoke("put_own_status", "/device/status", body=body, authorizer=as_device), 422)
    assert "reason" in error_fields(problem)
