"""Property-based tests against independent oracles: the MAC spellings api.md lists, the
``ipaddress`` module, and RFC 7396's own merge-patch algorithm."""

from __future__ import annotations

import ipaddress
import re
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from registry.domain import values as types
from registry.domain.changes import merge_patch
from registry.domain.vocabulary import ATTRIBUTE_FIELDS, OPTIONAL_FIELDS


def _spellings(digits: str) -> set[str]:
    """The four spellings api.md accepts for 12 lowercase hex digits."""
    pairs = [digits[i : i + 2] for i in range(0, 12, 2)]
    return {":".join(pairs), "-".join(pairs), ".".join(digits[i : i + 4] for i in range(0, 12, 4)), digits}


def _is_listed_spelling(text: str) -> bool:
    digits = re.sub(r"[^0-9a-f]", "", text.lower())
    return len(digits) == 12 and text.lower() in _spellings(digits)


_MAC_ALPHABET = "0123456789abcdefABCDEF:-. gG"


@st.composite
def _near_miss(draw: st.DrawFn) -> str:
    """A listed spelling (any case) with at most one character replaced, inserted or deleted."""
    digits = draw(st.text(alphabet="0123456789abcdef", min_size=12, max_size=12))
    text = draw(st.sampled_from(sorted(_spellings(digits))))
    text = "".join(c.upper() if draw(st.booleans()) else c for c in text)
    edit = draw(st.sampled_from(["none", "replace", "insert", "delete"]))
    at = draw(st.integers(0, len(text) - 1))
    char = draw(st.sampled_from(_MAC_ALPHABET))
    return {
        "none": text,
        "replace": text[:at] + char + text[at + 1 :],
        "insert": text[:at] + char + text[at:],
        "delete": text[:at] + text[at + 1 :],
    }[edit]


# Near misses of the listed spellings, and any string of MAC-ish characters.
_mac_like = _near_miss() | st.text(alphabet=_MAC_ALPHABET, min_size=10, max_size=19)


@given(_mac_like)
def test_a_mac_is_accepted_exactly_when_it_is_a_listed_spelling(text):
    try:
        canonical = types.canonical_mac(text)
    except ValueError:
        assert not _is_listed_spelling(text)
        return
    assert _is_listed_spelling(text)
    assert canonical in _spellings(canonical.replace(":", "")) and canonical == canonical.lower()
    assert types.canonical_mac(canonical) == canonical


@given(_mac_like)
def test_the_contract_pattern_for_mac_agrees_with_the_parser(text):
    documented = re.fullmatch(types.MAC_PATTERN, text) is not None
    assert documented == _is_listed_spelling(text)


@given(st.ip_addresses(), st.sampled_from(["compressed", "exploded"]), st.booleans())
def test_every_spelling_of_an_ip_address_round_trips_to_its_canonical_form(address, spelling, upper):
    written = getattr(address, spelling)
    canonical = types.canonical_ip(written.upper() if upper else written)
    assert canonical == str(address)
    assert ipaddress.ip_address(canonical) == address


# -- JSON merge patch (RFC 7396) ---------------------------------------------------------------


def rfc7396(target: Any, patch: Any) -> Any:
    """The algorithm of RFC 7396, section 2, verbatim."""
    if isinstance(patch, dict):
        if not isinstance(target, dict):
            target = {}
        result = dict(target)
        for name, value in patch.items():
            if value is None:
                result.pop(name, None)
            else:
                result[name] = rfc7396(result.get(name), value)
        return result
    return patch


def _document(attributes: dict[str, Any]) -> dict[str, Any]:
    """The device as the JSON document a client patches: cleared fields are absent."""
    return {name: value for name, value in attributes.items() if value is not None}


_text = st.text(alphabet="abc", max_size=3)
_attribute_map = st.dictionaries(st.sampled_from(["k1", "k2", "k3"]), _text, max_size=3)
_current = st.fixed_dictionaries(
    {"name": _text.filter(bool), "device_type": _text.filter(bool), "mac_address": st.just("02:00:00:00:00:01")},
    optional={field: st.none() | _text for field in OPTIONAL_FIELDS} | {"attributes": _attribute_map},
)
_patch = st.fixed_dictionaries(
    {},
    optional={"name": _text.filter(bool), "device_type": _text.filter(bool)}
    | {field: st.none() | _text for field in OPTIONAL_FIELDS}
    | {"attributes": st.none() | st.dictionaries(st.sampled_from(["k1", "k2", "k3"]), st.none() | _text)},
)


@given(_current, _patch)
def test_merge_patch_agrees_with_rfc_7396(current, patch):
    merged = merge_patch(current, patch)
    expected = rfc7396(_document(current), patch)
    assert set(merged) == set(ATTRIBUTE_FIELDS)
    # An empty attribute map and no attribute map are the same document for a client.
    assert {k: v for k, v in _document(merged).items() if v != {}} == {k: v for k, v in expected.items() if v != {}}


@given(_current, _patch)
def test_applying_the_same_merge_patch_twice_changes_nothing_more(current, patch):
    once = merge_patch(current, patch)
    assert merge_patch(once, patch) == once
