"""Page cursors are opaque and strict: what we issue round-trips, anything else is a 400."""

import base64
import contextlib
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from registry.domain import cursors
from registry.domain.errors import InvalidCursor
from registry.storage import keys as table

DEVICE_ID = "0190f5e2-7a3b-7c1d-9e2f-3a4b5c6d7e8f"
AT = "2026-11-27T06:12:00.123Z"


def forge(payload) -> str:
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).rstrip(b"=").decode()


def test_device_cursor_round_trips():
    assert cursors.decode_device_cursor(cursors.encode_device_cursor(DEVICE_ID)) == DEVICE_ID


def test_history_cursor_round_trips():
    assert cursors.decode_history_cursor(cursors.encode_history_cursor(42, AT)) == (42, AT)


@given(st.integers(1, table.MAX_REVISION))
def test_history_cursor_round_trips_for_every_revision(revision):
    assert cursors.decode_history_cursor(cursors.encode_history_cursor(revision, AT)) == (revision, AT)


def test_cursors_are_url_safe_without_padding():
    token = cursors.encode_history_cursor(table.MAX_REVISION, AT) + cursors.encode_device_cursor(DEVICE_ID)
    assert set(token) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


@pytest.mark.parametrize(
    "token",
    [
        "",
        "not a cursor",
        "%%%",
        "x" * 600,
        base64.urlsafe_b64encode(b"\xff\xfe").decode(),
        forge([DEVICE_ID]),
        forge("just a string"),
        forge({}),
        forge({"d": "not-a-uuid"}),
        forge({"d": 7}),
        forge({"d": DEVICE_ID, "extra": 1}),
        forge({"r": 3, "a": AT}),  # a history cursor given to the device list
        forge({table.PK: {"S": table.device_pk("x")}}),  # a raw DynamoDB key
    ],
)
def test_tampered_device_cursor_is_invalid(token):
    with pytest.raises(InvalidCursor) as raised:
        cursors.decode_device_cursor(token)
    assert raised.value.status == 400


@pytest.mark.parametrize(
    "token",
    [
        "",
        "not a cursor",
        forge({"d": DEVICE_ID}),  # a device cursor given to the history
        forge({"r": 0, "a": AT}),
        forge({"r": -1, "a": AT}),
        forge({"r": table.MAX_REVISION + 1, "a": AT}),
        forge({"r": True, "a": AT}),
        forge({"r": 3.0, "a": AT}),
        forge({"r": "3", "a": AT}),
        forge({"r": 3, "a": "2026-11-27"}),
        forge({"r": 3, "a": "2026-11-27T06:12:00.123Z#999"}),
        forge({"r": 3}),
        forge({"r": 3, "a": AT, "x": 1}),
    ],
)
def test_tampered_history_cursor_is_invalid(token):
    with pytest.raises(InvalidCursor):
        cursors.decode_history_cursor(token)


@given(st.text(max_size=80))
def test_arbitrary_text_is_either_a_valid_cursor_or_invalid_cursor_never_another_error(text):
    for decode in (cursors.decode_device_cursor, cursors.decode_history_cursor):
        with contextlib.suppress(InvalidCursor):
            decode(text)
