"""Route.match: which paths are a route's, and its path parameters, as API Gateway reads them."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from registry.http.routes import ROUTES, Route, route_for

DEVICE = "0190f5e2-7a3b-7c1d-9e2f-3a4b5c6d7e8f"
# One segment as a client may send it: anything but a slash, percent-encoding left as sent.
segments = st.text(st.characters(blacklist_characters="/"), min_size=1, max_size=40)


def fill(route: Route, values: dict[str, str]) -> str:
    path = route.path
    for name, value in values.items():
        path = path.replace(f"{{{name}}}", value)
    return path


@pytest.mark.parametrize(
    ("handler", "path", "parameters"),
    [
        ("list_devices", "/devices", {}),
        ("get_device", f"/devices/{DEVICE}", {"device_id": DEVICE}),
        ("get_status", "/devices/not-a-uuid/status", {"device_id": "not-a-uuid"}),
        ("get_history_entry", f"/devices/{DEVICE}/history/7", {"device_id": DEVICE, "revision": "7"}),
        ("get_device", "/devices/DEVICE%23x", {"device_id": "DEVICE%23x"}),  # as sent, not decoded
        ("swagger", "/swagger", {}),
    ],
)
def test_a_path_of_the_route_gives_its_parameters(handler, path, parameters):
    assert route_for(handler).match(path) == parameters


@pytest.mark.parametrize(
    ("handler", "path"),
    [
        ("list_devices", "/devices/"),  # a trailing slash is another path
        ("list_devices", "devices"),
        ("get_device", "/devices/"),  # a parameter takes one segment, never an empty one
        ("get_device", "/devices//"),
        ("get_device", f"/devices/{DEVICE}/status"),  # nor two
        ("get_status", f"/devices/{DEVICE}/statuses"),
        ("get_history_entry", f"/devices/{DEVICE}/history"),
        ("get_status", f"/Devices/{DEVICE}/status"),  # literal segments match exactly
        ("swagger", "/swagger/index.html"),
    ],
)
def test_any_other_path_is_not_the_routes(handler, path):
    assert route_for(handler).match(path) is None


@given(data=st.data())
def test_each_route_matches_its_template_filled_with_any_segments_and_gives_them_back(data):
    route = data.draw(st.sampled_from(ROUTES))
    values = {name: data.draw(segments) for name in route.path_parameters}
    assert route.match(fill(route, values)) == values


def test_every_path_of_a_route_belongs_to_no_other_route_of_its_method():
    for route in ROUTES:
        path = fill(route, {name: "x" for name in route.path_parameters})
        matching = [other for other in ROUTES if other.method == route.method and other.match(path) is not None]
        # Several may match (/devices/stats and /devices/{device_id}): as API Gateway, the most
        # specific (static segments first) answers, and it must be this route alone.
        best = max(other.specificity for other in matching)
        assert [other.handler for other in matching if other.specificity == best] == [route.handler], path
