"""Input models: what a client may send, normalised once at the edge."""

import pytest
from pydantic import ValidationError

from registry.domain.errors import MalformedJson, ValidationFailed
from registry.domain.vocabulary import StatusValue
from registry.http.problems import from_validation_errors
from registry.schemas import DeviceAttributes, DevicePatch, StatusUpdate

VALID = {"name": "Boiler sensor", "device_type": "sensor", "mac_address": "00-1A-2B-3C-4D-5E"}


def fields_in_error(body, model=DeviceAttributes):
    with pytest.raises(ValidationError) as raised:
        model.model_validate(body)
    error = from_validation_errors(raised.value.errors(include_url=False, include_input=False))
    assert isinstance(error, ValidationFailed)
    return {entry["field"]: entry["message"] for entry in error.errors}


def test_valid_device_is_normalised():
    device = DeviceAttributes.model_validate({**VALID, "ip_address": "2001:DB8::1", "name": "  Boiler  "})
    assert device.mac_address == "00:1a:2b:3c:4d:5e"
    assert device.ip_address == "2001:db8::1"
    assert device.name == "Boiler"
    assert device.attributes == {}
    assert device.firmware_version is None


def test_seed_mac_with_non_hex_digit_is_rejected_naming_the_value():
    errors = fields_in_error({**VALID, "mac_address": "00:1a:2b:3c:3r:5e"})
    assert list(errors) == ["mac_address"]
    assert "00:1a:2b:3c:3r:5e" in errors["mac_address"]


@pytest.mark.parametrize("missing", ["name", "device_type", "mac_address"])
def test_required_fields_are_named_when_missing(missing):
    body = {k: v for k, v in VALID.items() if k != missing}
    assert fields_in_error(body) == {missing: "is required"}


def test_unknown_fields_are_rejected_by_name_and_status_names_its_own_route():
    errors = fields_in_error({**VALID, "status": "online", "colour": "red"})
    assert errors == {
        "status": "is not a field of this request; set it with PUT /devices/{id}/status",
        "colour": "is not a known field",
    }


@pytest.mark.parametrize("name", ["", "   ", "x" * 129])
def test_name_must_hold_1_to_128_characters_after_trimming(name):
    assert "name" in fields_in_error({**VALID, "name": name})


def test_name_of_128_characters_with_surrounding_spaces_is_accepted_trimmed():
    assert DeviceAttributes.model_validate({**VALID, "name": f"  {'x' * 128}  "}).name == "x" * 128


@pytest.mark.parametrize(
    ("field", "limit"),
    [("device_type", 64), ("firmware_version", 64), ("serial_number", 128), ("location", 256)],
)
def test_string_fields_are_limited_in_length(field, limit):
    assert DeviceAttributes.model_validate({**VALID, field: "x" * limit})
    assert field in fields_in_error({**VALID, field: "x" * (limit + 1)})


def test_attributes_take_up_to_50_keys():
    fifty = {f"key{i}": "v" for i in range(50)}
    assert DeviceAttributes.model_validate({**VALID, "attributes": fifty}).attributes == fifty
    assert "attributes" in fields_in_error({**VALID, "attributes": {**fifty, "one_more": "v"}})


@pytest.mark.parametrize("key", ["floor", "rack.row", "zone:a", "ID_9-x", "k" * 64])
def test_attribute_keys_of_the_allowed_characters_are_accepted(key):
    assert DeviceAttributes.model_validate({**VALID, "attributes": {key: "v"}}).attributes == {key: "v"}


@pytest.mark.parametrize("key", ["", "k" * 65, "with space", "slash/key", "ümlaut", "semi;colon"])
def test_attribute_keys_outside_the_allowed_characters_are_rejected(key):
    assert fields_in_error({**VALID, "attributes": {key: "v"}})


def test_attribute_values_are_strings_of_at_most_256_characters():
    assert DeviceAttributes.model_validate({**VALID, "attributes": {"k": "v" * 256}})
    assert "attributes.k" in fields_in_error({**VALID, "attributes": {"k": "v" * 257}})
    assert "attributes.k" in fields_in_error({**VALID, "attributes": {"k": 5}})


@pytest.mark.parametrize("value", ["192.0.2.300", "localhost", 3232235777])
def test_ip_address_must_be_an_ipv4_or_ipv6_string(value):
    assert "ip_address" in fields_in_error({**VALID, "ip_address": value})


@pytest.mark.parametrize("value", [12, True, None, ["sensor"]])
def test_required_strings_do_not_accept_other_json_types(value):
    assert "device_type" in fields_in_error({**VALID, "device_type": value})


def test_patch_keeps_only_the_fields_sent_with_null_meaning_clear():
    patch = DevicePatch.model_validate({"location": None, "attributes": {"floor": None, "rack": "7"}})
    assert patch.changes() == {"location": None, "attributes": {"floor": None, "rack": "7"}}


@pytest.mark.parametrize("field", ["name", "device_type", "mac_address"])
def test_patch_cannot_clear_a_required_field(field):
    errors = fields_in_error({field: None}, DevicePatch)
    assert any("cannot be set to null" in message for message in errors.values())


def test_patch_normalises_mac_and_rejects_unknown_fields():
    assert DevicePatch.model_validate({"mac_address": "001A.2B3C.4D5E"}).changes() == {
        "mac_address": "00:1a:2b:3c:4d:5e"
    }
    assert fields_in_error({"id": "x"}, DevicePatch) == {"id": "is not a known field"}


@pytest.mark.parametrize("status", [s.value for s in StatusValue])
def test_each_status_of_the_enum_is_accepted(status):
    assert StatusUpdate.model_validate({"status": status}).status.value == status


@pytest.mark.parametrize("status", ["ONLINE", "broken", "", None])
def test_a_status_outside_the_enum_is_rejected(status):
    assert "status" in fields_in_error({"status": status}, StatusUpdate)


def test_status_reason_is_limited_to_256_characters():
    assert StatusUpdate.model_validate({"status": "online", "reason": "r" * 256})
    assert "reason" in fields_in_error({"status": "online", "reason": "r" * 257}, StatusUpdate)


def test_invalid_json_is_a_malformed_json_error_not_a_validation_error():
    with pytest.raises(ValidationError) as raised:
        DeviceAttributes.model_validate_json("{not json")
    assert isinstance(from_validation_errors(raised.value.errors()), MalformedJson)


def test_validation_detail_names_each_field_and_its_problem():
    with pytest.raises(ValidationError) as raised:
        DeviceAttributes.model_validate({"name": "", "device_type": "sensor", "mac_address": "nope"})
    error = from_validation_errors(raised.value.errors(include_url=False, include_input=False))
    assert error.status == 422
    assert "name:" in error.detail and "mac_address:" in error.detail and "'nope'" in error.detail
