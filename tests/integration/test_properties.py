"""Whatever a client sends, the answer is a success or a clear 4xx problem: never a 5xx."""

from urllib.parse import quote, urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support import LEAKS, assert_problem

# One moto table serves every example of a test: the properties hold whatever it holds.
SETTINGS = settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def text(**size):
    """Text that cannot spell the internal words the problem documents are checked for (a
    client's own words are echoed back in a detail, and would look like a leak)."""
    return st.text(**size).filter(lambda value: not any(leak.lower() in value.lower() for leak in LEAKS))


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(text(max_size=8), inner, max_size=3),
    max_leaves=8,
)
FIELDS = [
    "name",
    "device_type",
    "mac_address",
    "ip_address",
    "firmware_version",
    "serial_number",
    "location",
    "attributes",
]
mac_like = st.from_regex(r"[0-9a-fA-FxX]{2}([:.-]?[0-9a-fA-Fr]{2}){5}", fullmatch=True)
bodies = st.dictionaries(
    st.sampled_from([*FIELDS, "status", "id"]) | text(max_size=8),
    json_values | mac_like | st.dictionaries(text(max_size=70), text(max_size=5), max_size=3),
    max_size=8,
)


@pytest.fixture
def device(make_device):
    """One device per test (fixtures are not re-created between examples)."""
    return make_device()


def answer_is_clear(response, *successes):
    if response["statusCode"] not in successes:
        assert response["statusCode"] in {400, 404, 409, 412, 413, 415, 422}, response
        assert_problem(response, response["statusCode"])


@SETTINGS
@given(body=bodies)
def test_any_registration_body_gets_201_or_a_4xx_problem(invoke, body):
    answer_is_clear(invoke("create_device", body=body), 201)


@SETTINGS
@given(patch=bodies)
def test_any_merge_patch_gets_200_or_a_4xx_problem(invoke, device, patch):
    answer_is_clear(invoke("update_device", f"/devices/{device['id']}", body=patch), 200)


@SETTINGS
@given(
    params=st.dictionaries(
        st.sampled_from(["limit", "cursor", "device_type", "status", "mac_address"]),
        text(max_size=30) | st.integers(-5, 200).map(str) | mac_like,
        max_size=4,
    )
)
def test_any_list_query_gets_200_or_a_4xx_problem(invoke, params):
    answer_is_clear(invoke("list_devices", query=urlencode(params)), 200)


@SETTINGS
@given(
    params=st.dictionaries(
        st.sampled_from(["kind", "since", "until", "order", "limit", "cursor"]),
        text(max_size=30)
        | st.datetimes(timezones=st.timezones() | st.none()).map(lambda moment: moment.isoformat())
        | st.sampled_from(["config", "status", "asc", "desc", "1", "100"]),
        max_size=5,
    )
)
def test_any_history_query_gets_200_or_a_4xx_problem(invoke, device, params):
    answer_is_clear(invoke("list_history", f"/devices/{device['id']}/history", query=urlencode(params)), 200)


@SETTINGS
@given(device_id=text(min_size=1, max_size=40).filter(lambda text: "/" not in text), revision=text(min_size=1))
def test_any_path_gets_a_4xx_problem_for_an_unknown_or_malformed_id(invoke, device_id, revision):
    path = f"/devices/{quote(device_id, safe='')}"
    answer_is_clear(invoke("get_device", path, path_parameters={"device_id": device_id}))
    answer_is_clear(
        invoke(
            "get_history_entry",
            f"{path}/history/{quote(revision, safe='')}",
            path_parameters={"device_id": device_id, "revision": revision},
        )
    )
