"""Every rule the OpenAPI document publishes is the rule the API applies: for generated near
misses, a value is valid by the committed document (read as clients read it, with a JSON Schema
validator's own regex engine and formats) exactly when the API accepts it."""

from __future__ import annotations

import json
from datetime import UTC
from pathlib import Path
from typing import Any

import jsonschema_rs
import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from pydantic import ValidationError

from registry import openapi
from registry.domain import values as types
from registry.domain.errors import InvalidHeader
from registry.http.params import if_none_match_is_well_formed
from registry.http.preconditions import expected_version
from registry.schemas import DeviceAttributes, StatusUpdate

DOCUMENT = json.loads(Path(openapi.__file__).with_name("openapi.json").read_text())
VALID = {"name": "n", "device_type": "t", "mac_address": "00:1a:2b:3c:4d:5e"}
# Whitespace as pydantic trims it, and characters that look like it but are not trimmed.
SPACES = "\t\n\x0b\x0c\r \x85\xa0\u1680\u2000\u200a\u2028\u2029\u202f\u205f\u3000"
NOT_TRIMMED = "\x1c\x1f\u200b\ufeff\u180e"


def _schema(name: str) -> dict[str, Any]:
    return {**DOCUMENT["components"]["schemas"][name], "components": DOCUMENT["components"]}


def _parameter(path: str, method: str, name: str) -> dict[str, Any]:
    parameters = DOCUMENT["paths"][path][method]["parameters"]
    return next(parameter["schema"] for parameter in parameters if parameter["name"] == name)


def _document_accepts(schema: dict[str, Any], value: Any) -> bool:
    return bool(jsonschema_rs.validator_for(schema, validate_formats=True).is_valid(value))


def _api_accepts_attributes(body: dict[str, Any]) -> bool:
    try:
        DeviceAttributes.model_validate(body)
    except ValidationError:
        return False
    return True


_texts = st.text(alphabet=st.sampled_from("ab" + SPACES + NOT_TRIMMED), max_size=8) | st.builds(
    lambda pad, core, tail: pad + core + tail,
    st.text(alphabet=SPACES, max_size=3),
    st.text(alphabet="xy" + NOT_TRIMMED, min_size=60, max_size=130),
    st.text(alphabet=SPACES, max_size=3),
)


@pytest.mark.parametrize("field", ["name", "device_type"])
@given(text=_texts)
@example(text="   ")
@example(text="  " + "x" * 128 + "  ")
def test_a_name_or_type_is_valid_by_the_document_exactly_when_the_api_takes_it(field, text):
    body = {**VALID, field: text}
    assert _document_accepts(_schema("DeviceAttributes"), body) == _api_accepts_attributes(body)


_keys = st.text(alphabet=st.sampled_from("aZ09_.:-/ é\n"), max_size=66)


@given(key=_keys)
@example(key="a" * 65)
@example(key="key\n")
def test_an_attribute_key_is_valid_by_the_document_exactly_when_the_api_takes_it(key):
    body = {**VALID, "attributes": {key: "v"}}
    assert _document_accepts(_schema("DeviceAttributes"), body) == _api_accepts_attributes(body)


@given(address=st.ip_addresses().map(str) | st.text(alphabet="0123456789abcdefABCDEF:.%", max_size=20))
@example(address="fe80::1%eth0")
def test_an_ip_address_is_valid_by_the_document_exactly_when_the_api_takes_it(address):
    body = {**VALID, "ip_address": address}
    assert _document_accepts(_schema("DeviceAttributes"), body) == _api_accepts_attributes(body)


@st.composite
def _near_timestamps(draw: st.DrawFn) -> str:
    moment = draw(st.datetimes(timezones=st.just(UTC)))
    text = moment.isoformat().replace("+00:00", draw(st.sampled_from(["Z", "+00:00", "-05:30", "z", ""])))
    at = draw(st.integers(0, len(text)))
    edit = draw(st.sampled_from(["", "", "T", "t", " ", "0", ":", ".", "Z", "٣"]))
    cut = draw(st.booleans())
    return text[:at] + edit + text[at + (1 if cut else 0) :]


@given(value=_near_timestamps())
@example(value="2026-02-30T00:00:00Z")
@example(value="2026-11-27T06:12:60Z")
@example(value="0000-01-01T00:00:00Z")
@example(value="")
def test_a_history_time_is_valid_by_the_document_exactly_when_the_api_takes_it(value):
    try:
        types.parse_timestamp(value)
        accepted = True
    except ValueError as error:
        if "out of range" in str(error):
            return  # a valid time outside years 1-9999 once in UTC: no schema can say so
        accepted = False
    assert _document_accepts(_parameter("/devices/{device_id}/history", "get", "since"), value) == accepted


@given(value=st.uuids().map(str).map(str.upper) | st.text(alphabet="0123456789abcdefABCDEF-{}_", max_size=38))
@example(value="----0123456789abcdef0123456789abcdef")
def test_a_device_id_is_valid_by_the_document_exactly_when_the_api_takes_it(value):
    try:
        types.canonical_uuid(value)
        accepted = True
    except ValueError:
        accepted = False
    assert _document_accepts(_parameter("/devices/{device_id}", "get", "device_id"), value) == accepted


_tags = st.lists(
    st.builds(
        lambda weak, tag, space: space + ("W/" if weak else "") + f'"{tag}"' + space,
        st.booleans(),
        st.text(alphabet='1234!#~,"', max_size=3),
        st.sampled_from(["", " ", "\t"]),
    ),
    min_size=1,
    max_size=4,
).map(",".join) | st.sampled_from(["*", " *", "", "1", '"1"', 'W/"1"'])


@given(value=_tags)
def test_every_if_match_the_document_allows_reaches_the_version_comparison(value):
    if not _document_accepts(_parameter("/devices/{device_id}", "patch", "If-Match"), value):
        return
    try:
        expected_version(value)
    except InvalidHeader:  # pragma: no cover - the failure this test exists to find
        pytest.fail(f"the document allows If-Match {value!r}; the service calls it malformed")


@given(value=_tags)
def test_an_if_none_match_is_refused_exactly_when_the_document_calls_it_malformed(value):
    value = value.strip()  # API Gateway hands headers on trimmed
    schema = _parameter("/devices/{device_id}", "get", "If-None-Match")
    assert _document_accepts(schema, value) == if_none_match_is_well_formed(value)


# The text rule (registry/domain/text.py): controls, bidi controls, separators, invisible
# characters (zero-width, fillers, spaces) and visible ones, as a field's whole value or inside it.
FORBIDDEN = "\x00\x1b\x7f\x9b\u2028\u202a\u202e\u2066\u2069"
INVISIBLE = "\u200b\u200d\u2060\ufeff\u00ad\u3164\u180e\ufe0f \xa0\u3000"
_free_texts = st.text(alphabet=st.sampled_from("aé" + FORBIDDEN + INVISIBLE + SPACES), max_size=8)
TEXT_FIELDS = [
    ("DeviceAttributes", lambda text: {**VALID, "name": text}),
    ("DeviceAttributes", lambda text: {**VALID, "device_type": text}),
    ("DeviceAttributes", lambda text: {**VALID, "firmware_version": text}),
    ("DeviceAttributes", lambda text: {**VALID, "serial_number": text}),
    ("DeviceAttributes", lambda text: {**VALID, "location": text}),
    ("DeviceAttributes", lambda text: {**VALID, "attributes": {"k": text}}),
    ("StatusUpdate", lambda text: {"status": "online", "reason": text}),
]


@pytest.mark.parametrize(("model", "body"), TEXT_FIELDS)
@given(text=_free_texts)
@example(text="\u200b")
@example(text="a\u202eb")
@example(text=" name\n")
@example(text="x\u200dy")
def test_a_free_text_field_is_valid_by_the_document_exactly_when_the_api_takes_it(model, body, text):
    models = {"DeviceAttributes": DeviceAttributes, "StatusUpdate": StatusUpdate}
    try:
        models[model].model_validate(body(text))
        accepted = True
    except ValidationError:
        accepted = False
    assert _document_accepts(_schema(model), body(text)) == accepted
