"""If-Match, read at the edge: what a header expects, without a store (no moto here)."""

import pytest

from registry.domain.errors import InvalidHeader, PreconditionFailed
from registry.domain.versions import ANY_VERSION
from registry.http.preconditions import expected_version


def test_no_header_expects_nothing_and_star_expects_any_version():
    assert expected_version(None) is None
    assert expected_version("*") == expected_version(" * ") == ANY_VERSION
    ANY_VERSION.check(41, "device")


@pytest.mark.parametrize(
    ("header", "versions"),
    [('"3"', {3}), ('"7", "1"', {1, 7}), (' "1" ', {1}), ('"1","2"', {1, 2}), ('W/"1"', set()), ('"abc"', set())],
)
def test_strong_tags_that_are_versions_are_what_a_write_may_apply_to(header, versions):
    assert expected_version(header).versions == frozenset(versions)


@pytest.mark.parametrize("header", ['"2"', 'W/"1"', '"0", "2"', '"abc"'])
def test_a_version_the_header_does_not_name_fails_the_precondition_naming_both(header):
    with pytest.raises(PreconditionFailed) as raised:
        expected_version(header).check(1, "device")
    assert raised.value.status == 412 and '"1"' in raised.value.detail


@pytest.mark.parametrize("header", ["1", "'1'", '"1', "", 'W/"1" garbage', '"1",', '"' + "9" * 300 + '"'])
def test_a_malformed_header_is_a_400(header):
    with pytest.raises(InvalidHeader) as raised:
        expected_version(header)
    assert raised.value.status == 400
