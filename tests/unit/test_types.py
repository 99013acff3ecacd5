"""The parsers behind every normalised value: MAC and IP addresses, ids, timestamps."""

import copy
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from registry.domain import values as types

MAC = "00:1a:2b:3c:4d:5e"


@pytest.mark.parametrize(
    "spelling",
    [
        "00:1A:2B:3C:4D:5E",
        "00:1a:2b:3c:4d:5e",
        "00-1a-2b-3c-4d-5e",
        "00-1A-2B-3C-4D-5E",
        "001a.2b3c.4d5e",
        "001A.2B3C.4D5E",
        "001a2b3c4d5e",
        "001A2B3C4D5E",
        "00:1a:2B:3c:4D:5e",
    ],
)
def test_every_accepted_mac_spelling_becomes_lowercase_colons(spelling):
    assert types.canonical_mac(spelling) == MAC


@pytest.mark.parametrize(
    "value",
    [
        "00:1a:2b:3c:3r:5e",  # the seed prototype accepted this non-hex digit
        "00:1a:2b:3c:4d",  # five octets
        "00:1a:2b:3c:4d:5e:6f",  # seven octets
        "001a2b3c4d5",  # eleven digits
        "001a2b3c4d5e6",  # thirteen digits
        "0:1a:2b:3c:4d:5e",  # a one-digit octet
        "00:1a-2b:3c-4d:5e",  # mixed separators
        "00.1a.2b.3c.4d.5e",  # dots between octets
        "001a:2b3c:4d5e",  # colons between groups of four
        "00:1a:2b:3c:4d:5e ",  # trailing space
        " 00:1a:2b:3c:4d:5e",
        "00:1a:2b:3c:4d:5e\n",
        "",
        "zz:zz:zz:zz:zz:zz",
        "００:1a:2b:3c:4d:5e",  # full-width digits are not hex digits
    ],
)
def test_mac_with_non_hex_digit_or_wrong_length_is_rejected_naming_the_value(value):
    with pytest.raises(ValueError, match="is not a MAC address") as raised:
        types.canonical_mac(value)
    assert repr(value) in str(raised.value)


_octets = st.lists(st.integers(0, 255), min_size=6, max_size=6)


@given(_octets, st.sampled_from(["colons", "hyphens", "dots", "bare"]), st.booleans())
def test_any_mac_in_any_spelling_and_case_normalises_to_the_same_address(octets, spelling, upper):
    digits = "".join(f"{octet:02x}" for octet in octets)
    pairs = [digits[i : i + 2] for i in range(0, 12, 2)]
    written = {
        "colons": ":".join(pairs),
        "hyphens": "-".join(pairs),
        "dots": ".".join(digits[i : i + 4] for i in range(0, 12, 4)),
        "bare": digits,
    }[spelling]
    canonical = types.canonical_mac(written.upper() if upper else written)
    assert canonical == ":".join(pairs)
    assert types.canonical_mac(canonical) == canonical


@given(st.text(max_size=20))
def test_mac_parser_either_normalises_or_raises_value_error(text):
    try:
        result = types.canonical_mac(text)
    except ValueError:
        return
    assert len(result) == 17 and result == result.lower() and result.count(":") == 5


@pytest.mark.parametrize(
    ("value", "canonical"),
    [
        ("192.0.2.10", "192.0.2.10"),
        ("2001:DB8::0:1", "2001:db8::1"),
        ("2001:0db8:0000:0000:0000:0000:0000:0001", "2001:db8::1"),
        # Python 3.13 (Lambda's runtime) writes IPv4-mapped addresses with their IPv4 tail; 3.11 did not.
        ("::ffff:192.0.2.1", "::ffff:192.0.2.1"),
        ("::FFFF:C000:0201", "::ffff:192.0.2.1"),
        ("::", "::"),
        ("FE80::1", "fe80::1"),
    ],
)
def test_ip_addresses_are_returned_in_canonical_form(value, canonical):
    assert types.canonical_ip(value) == canonical


@pytest.mark.parametrize(
    "value", ["256.0.0.1", "192.0.2", "192.0.2.1/24", "2001:db8::g", "example.com", "", "1.2.3.4 "]
)
def test_values_that_are_not_ip_addresses_are_rejected(value):
    with pytest.raises(ValueError, match="is not an IPv4 or IPv6 address"):
        types.canonical_ip(value)


@given(st.ip_addresses())
def test_canonical_ip_is_stable(address):
    canonical = types.canonical_ip(str(address))
    assert types.canonical_ip(canonical) == canonical


def test_uuids_are_accepted_in_any_case_and_made_lowercase():
    value = "0190F5E2-7A3B-7C1D-9E2F-3A4B5C6D7E8F"
    assert types.canonical_uuid(value) == value.lower()


@pytest.mark.parametrize(
    "value",
    [
        "not-a-uuid",
        "0190f5e27a3b7c1d9e2f3a4b5c6d7e8f",  # uuid.UUID accepts it; the contract's ids have hyphens
        "{0190f5e2-7a3b-7c1d-9e2f-3a4b5c6d7e8}",
        "0190f5e2-7a3b-7c1d-9e2f-3a4b5c6d7e8g",
        "urn:uuid:0190f5e2-7a3b-7c1d-9e2f-3a4b5c6d",
        "",
    ],
)
def test_malformed_ids_are_rejected(value):
    with pytest.raises(ValueError, match="is not a UUID"):
        types.canonical_uuid(value)


def millisecond(device_id):
    return uuid.UUID(device_id).int >> 80


def test_new_device_ids_are_uuid_v7_and_sort_in_creation_order():
    ids = [types.new_device_id() for _ in range(1000)]  # most of them share a millisecond
    assert all(uuid.UUID(device_id).version == 7 for device_id in ids)
    assert all(uuid.UUID(device_id).variant == uuid.RFC_4122 for device_id in ids)
    assert len(set(ids)) == len(ids)
    assert sorted(ids) == ids
    assert len({millisecond(device_id) for device_id in ids}) < len(ids)  # some did share one


def test_ids_made_within_one_millisecond_sort_in_creation_order():
    make = types.DeviceIds(clock=lambda: 1_795_759_200_000)
    ids = [make() for _ in range(1000)]
    assert {millisecond(device_id) for device_id in ids} == {1_795_759_200_000}
    assert sorted(ids) == ids and len(set(ids)) == len(ids)


def test_ids_made_after_the_clock_steps_back_still_sort_after_the_earlier_ones():
    moments = iter([5_000, 5_000, 4_000, 4_999, 6_000])
    make = types.DeviceIds(clock=lambda: next(moments))
    ids = [make() for _ in range(5)]
    assert sorted(ids) == ids
    assert [millisecond(device_id) for device_id in ids] == [5_000, 5_000, 5_000, 5_000, 6_000]


def test_a_millisecond_whose_ids_run_out_borrows_the_next_and_still_sorts():
    largest = (1 << 74) - 1
    make = types.DeviceIds(clock=lambda: 7_000, random_bits=lambda bits: largest if bits == 74 else 0)
    first, second = make(), make()
    assert (millisecond(first), millisecond(second)) == (7_000, 7_001) and first < second


def test_two_environments_restored_with_the_same_last_id_make_different_next_ids():
    snapshot = types.DeviceIds(clock=lambda: 9_000)
    snapshot()
    restored = [copy.copy(snapshot) for _ in range(2)]  # as SnapStart restores one snapshot twice
    assert restored[0]() != restored[1]()


@pytest.mark.parametrize(
    ("value", "stored"),
    [
        ("2026-11-27T06:12:00.123Z", "2026-11-27T06:12:00.123Z"),
        ("2026-11-27T06:12:00Z", "2026-11-27T06:12:00.000Z"),
        ("2026-11-27T07:12:00.123456+01:00", "2026-11-27T06:12:00.123Z"),
        ("2026-11-27T01:12:00-05:00", "2026-11-27T06:12:00.000Z"),
        ("2026-11-27T06:12:00.5+00:00", "2026-11-27T06:12:00.500Z"),
    ],
)
def test_timestamps_with_a_timezone_are_stored_in_utc_with_milliseconds_and_z(value, stored):
    assert types.parse_timestamp(value) == stored


@pytest.mark.parametrize("value", ["2026-11-27T06:12:00", "2026-11-27"])
def test_timestamps_without_a_timezone_are_rejected(value):
    with pytest.raises(ValueError, match="has no timezone"):
        types.parse_timestamp(value)


@pytest.mark.parametrize(
    ("value", "stored"),
    [("0999-01-01T00:00:00Z", "0999-01-01T00:00:00.000Z"), ("0001-01-01T00:00:00Z", "0001-01-01T00:00:00.000Z")],
)
def test_years_before_1000_keep_four_digits_so_they_sort_first(value, stored):
    assert types.parse_timestamp(value) == stored < "2026-11-27T06:12:00.000Z"


@pytest.mark.parametrize("value", ["9999-12-31T23:59:59-01:00", "0001-01-01T00:30:00+01:00"])
def test_timestamps_outside_the_utc_range_are_rejected(value):
    with pytest.raises(ValueError, match="out of range"):
        types.parse_timestamp(value)


@pytest.mark.parametrize("value", ["yesterday", "2026-13-01T00:00:00Z", "27/11/2026 06:12", ""])
def test_values_that_are_not_timestamps_are_rejected(value):
    with pytest.raises(ValueError, match="is not an ISO 8601 timestamp"):
        types.parse_timestamp(value)


@given(st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 1, 1), timezones=st.just(UTC)))
def test_formatted_timestamps_sort_as_the_times_do(moment):
    later = moment + timedelta(milliseconds=1)
    a, b = types.format_timestamp(moment), types.format_timestamp(later)
    assert len(a) == len(b) == 24 and a.endswith("Z")
    assert a < b
    assert types.parse_timestamp(a) == a
