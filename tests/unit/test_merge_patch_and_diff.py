"""The two pure functions behind every change: ``merge_patch`` (RFC 7396 over a device's
attributes) and ``diff`` (what a history entry records). No table: values in, values out."""

from registry.domain.changes import diff, merge_patch
from registry.domain.vocabulary import ATTRIBUTE_FIELDS

CURRENT = {
    "name": "Boiler",
    "device_type": "sensor",
    "mac_address": "00:1a:2b:3c:4d:5e",
    "location": "Basement",
    "firmware_version": "1.0",
    "attributes": {"floor": "2", "rack": "7"},
}


def test_merge_patch_replaces_the_fields_sent_and_keeps_the_others():
    merged = merge_patch(CURRENT, {"location": "Roof", "name": "Boiler 2"})
    assert (merged["location"], merged["name"], merged["firmware_version"]) == ("Roof", "Boiler 2", "1.0")
    assert merged["attributes"] == CURRENT["attributes"]


def test_merge_patch_null_clears_a_field():
    assert merge_patch(CURRENT, {"location": None})["location"] is None


def test_merge_patch_merges_attributes_key_by_key_and_null_removes_a_key():
    merged = merge_patch(CURRENT, {"attributes": {"floor": None, "zone": "b"}})
    assert merged["attributes"] == {"rack": "7", "zone": "b"}


def test_merge_patch_attributes_null_clears_them_all():
    assert merge_patch(CURRENT, {"attributes": None})["attributes"] == {}


def test_merge_patch_answers_every_attribute_field_and_leaves_its_input_as_it_was():
    before = {**CURRENT, "attributes": dict(CURRENT["attributes"])}
    merged = merge_patch(CURRENT, {"attributes": {"rack": None}, "location": None})
    assert set(merged) == set(ATTRIBUTE_FIELDS)
    assert before == CURRENT


def test_diff_names_each_changed_field_with_its_old_and_new_value():
    new = {**CURRENT, "location": "Roof", "firmware_version": None}
    assert diff(CURRENT, new, ("name", "location", "firmware_version")) == {
        "location": {"old": "Basement", "new": "Roof"},
        "firmware_version": {"old": "1.0", "new": None},
    }


def test_diff_compares_attributes_key_by_key():
    new = {**CURRENT, "attributes": {"rack": "8", "zone": "b"}}
    assert diff(CURRENT, new, ("attributes",)) == {
        "attributes.floor": {"old": "2", "new": None},
        "attributes.rack": {"old": "7", "new": "8"},
        "attributes.zone": {"old": None, "new": "b"},
    }


def test_diff_of_equal_values_or_of_fields_not_asked_for_is_empty():
    assert diff(CURRENT, dict(CURRENT), ATTRIBUTE_FIELDS) == {}
    assert diff(CURRENT, {**CURRENT, "location": "Roof"}, ("name",)) == {}


def test_diff_from_nothing_records_every_value_as_new():
    changes = diff({}, {"name": "Boiler", "attributes": {"floor": "2"}}, ("name", "location", "attributes"))
    assert changes == {"name": {"old": None, "new": "Boiler"}, "attributes.floor": {"old": None, "new": "2"}}
