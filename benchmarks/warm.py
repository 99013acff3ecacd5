"""Warm overhead: one process, every handler already loaded, DynamoDB answering from memory.

Each route's DynamoDB answers are recorded once from the embedded moto server, then replayed by a
``before-send`` hook on the one DynamoDB client all three variants share, so no request leaves the
process and the store costs the same for all: what differs is the code around it. Batches of
invocations are interleaved in a shuffled order every round."""

from __future__ import annotations

import random
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from statistics import median
from typing import Any

from benchmarks.fixtures import ROUTE_NAMES, TABLE_NAME, Events, expected_status, seed

KINDS = ("ours", "minimal", "peer")
Handler = Callable[[dict[str, Any], Any], dict[str, Any]]


class _Body:
    def __init__(self, content: bytes) -> None:
        self.content = content

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self.content


@dataclass
class Replay:
    """DynamoDB answers by route and operation, recorded from moto and served from memory. A
    route that calls one operation more than once (a delete reads the device, then its
    credentials) gets its answers back in the order it was given them, round after round."""

    answers: dict[str, dict[str, list[bytes]]] = field(default_factory=dict)
    route: str | None = None
    recording: bool = True
    served: dict[tuple[str, str], int] = field(default_factory=dict)

    def record(self, http_response: Any, model: Any, **_: Any) -> None:
        if self.recording and self.route is not None:
            self.answers.setdefault(self.route, {}).setdefault(model.name, []).append(http_response.content)

    def send(self, request: Any, event_name: str, **_: Any) -> Any:
        from botocore.awsrequest import AWSResponse

        if self.recording:
            return None
        operation = event_name.rsplit(".", 1)[-1]
        recorded = self.answers[str(self.route)][operation]
        n = self.served.get((str(self.route), operation), 0)
        self.served[(str(self.route), operation)] = n + 1
        content = recorded[n % len(recorded)]
        return AWSResponse(request.url, 200, {"Content-Type": "application/x-amz-json-1.0"}, _Body(content))


@dataclass
class WarmResult:
    batch: int
    rounds: int
    seconds: dict[tuple[str, str], list[float]]  # per invocation, one figure per batch

    def median(self, kind: str, route: str) -> float:
        return median(self.seconds[(kind, route)])

    def ratio(self, kind: str, route: str) -> float:
        return self.median(kind, route) / self.median("minimal", route)


def _context() -> Any:
    from local.proxy_events import LambdaContext

    return LambdaContext()


def measure(rounds: int, batch: int, progress: bool = True) -> WarmResult:
    import importlib
    import os

    from benchmarks import minimal
    from benchmarks.peers import app as peer
    from local.dynamodb import EmbeddedDynamoDB, create_tables
    from registry import wiring

    server = EmbeddedDynamoDB().start()
    try:
        os.environ["AWS_ENDPOINT_URL_DYNAMODB"] = server.endpoint
        create_tables(server.endpoint, TABLE_NAME, os.environ["IDEMPOTENCY_TABLE_NAME"])
        client = wiring.dynamodb_client()
        events = Events(seed(wiring.get_service(), deletable=0))
        replay = Replay()
        client.meta.events.register("after-call.dynamodb", replay.record)  # type: ignore[attr-defined]
        client.meta.events.register("before-send.dynamodb", replay.send)  # type: ignore[attr-defined]
        handlers: dict[tuple[str, str], Handler] = {}
        for route in ROUTE_NAMES:
            handlers[("ours", route)] = importlib.import_module(f"handlers.{route}").lambda_handler
            handlers[("minimal", route)] = minimal.handler(route)
            handlers[("peer", route)] = peer.handler(route)
        # Record each route's answers (a delete runs against a live device once; replayed, it
        # deletes that device again and again, exactly as much work every time).
        fixed = {}
        for route in ROUTE_NAMES:
            event = events.event(route) if route != "delete_device" else _delete_event(events, wiring)
            replay.route = route
            response = handlers[("ours", route)](event, _context())
            _check(response, route, "ours (recording)")
            fixed[route] = event
        replay.recording = False
        for (kind, route), handler in handlers.items():  # each variant answers right before timing
            replay.route = route
            _check(handler(fixed[route], _context()), route, kind)
        seconds: dict[tuple[str, str], list[float]] = {key: [] for key in handlers}
        shuffler = random.Random(2026)
        order = list(handlers)
        context = _context()
        for n in range(rounds):
            shuffler.shuffle(order)
            for kind, route in order:
                handler, event = handlers[(kind, route)], fixed[route]
                replay.route = route
                started = time.perf_counter()
                for _ in range(batch):
                    handler(event, context)
                seconds[(kind, route)].append((time.perf_counter() - started) / batch)
            if progress:
                print(f"  warm: round {n + 1}/{rounds}", file=sys.stderr, flush=True)
        return WarmResult(batch, rounds, seconds)
    finally:
        server.stop()


def _delete_event(events: Events, wiring: Any) -> dict[str, Any]:
    from benchmarks.fixtures import device_body
    from registry.schemas import DeviceAttributes

    state = wiring.get_service().register(DeviceAttributes.model_validate(device_body()), "bench")
    events.seeded.delete_pool.append(state.id)
    return events.event("delete_device")


def _check(response: dict[str, Any], route: str, kind: str) -> None:
    if response.get("statusCode") != expected_status(route):
        raise RuntimeError(f"{kind} {route} answered {response.get('statusCode')}: {response.get('body')}")
