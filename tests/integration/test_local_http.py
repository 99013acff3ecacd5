"""The local server's HTTP/1.1 (RFC 9112), on raw sockets: what a careful client or a hostile one
sends is framed exactly, answered with a problem document when it cannot be, and never leaves a
connection hanging or reads one request's bytes as the next request."""

from __future__ import annotations

import json
import threading
import time

import pytest

from tests.support import connection, device_body

UNKNOWN = "0190f5e2-7a3b-7c1d-9e2f-3a4b5c6d7e8f"


def chunked(body: bytes, size: int = 7) -> bytes:
    parts = [body[i : i + size] for i in range(0, len(body), size)]
    return b"".join(b"%x\r\n%s\r\n" % (len(part), part) for part in parts) + b"0\r\n\r\n"


def test_a_chunked_body_is_read_and_the_connection_serves_the_next_request(local_server):
    with connection(local_server) as client:
        body = device_body()
        client.send(
            client.request(
                "POST", "/devices", chunked(body), ("Content-Type: application/json", "Transfer-Encoding: chunked")
            )
        )
        created = client.answer()
        assert created is not None and created.status == 201, created
        device = json.loads(created.body)
        assert device["mac_address"] == json.loads(body)["mac_address"]
        client.send(client.request("GET", f"/devices/{device['id']}"))
        fetched = client.answer()
        assert fetched is not None and fetched.status == 200 and json.loads(fetched.body) == device


@pytest.mark.parametrize(
    ("case", "headers", "status"),
    [
        ("not a number", ("Content-Length: abc",), 400),
        ("negative", ("Content-Length: -1",), 400),
        ("two different lengths", ("Content-Length: 5", "Content-Length: 6"), 400),
        ("a list of different lengths", ("Content-Length: 5, 6",), 400),
        ("length and chunked both", ("Content-Length: 5", "Transfer-Encoding: chunked"), 400),
        ("a transfer coding we cannot decode", ("Transfer-Encoding: gzip",), 501),
        ("chunked twice", ("Transfer-Encoding: chunked", "Transfer-Encoding: chunked"), 501),
    ],
)
def test_unframeable_body_is_a_problem_and_the_connection_closes(local_server, case, headers, status):
    with connection(local_server) as client:
        # What follows the head would be the next request if the server guessed a framing.
        smuggled = client.request("DELETE", f"/devices/{UNKNOWN}")
        client.send(client.request("POST", "/devices", b"", ("Content-Type: application/json", *headers)) + smuggled)
        answer = client.answer()
        assert answer is not None
        answer.problem(status)
        assert answer.headers.get("Connection") == "close"
        assert client.closed(), case


def test_a_body_that_stops_arriving_is_408_within_the_request_timeout(local_server):
    with connection(local_server) as client:
        client.send(client.request("POST", "/devices", b"", ("Content-Type: application/json", "Content-Length: 50")))
        client.send(b'{"name": ')
        began = time.monotonic()
        answer = client.answer()
        assert answer is not None
        answer.problem(408, "request-timeout")
        assert client.closed()
        print(f"stalled body answered after {time.monotonic() - began:.1f} s")


def test_a_head_that_stops_arriving_is_408_too(local_server):
    with connection(local_server) as client:
        client.send(b"GET /devices HTTP/1.1\r\nHost: x\r\nAccept: appl")
        answer = client.answer()
        assert answer is not None and answer.status == 408


def test_pipelined_requests_are_answered_in_order(local_server):
    with connection(local_server) as client:
        client.send(
            client.request("GET", f"/devices/{UNKNOWN}")
            + client.request("POST", "/devices", device_body(), ("Content-Type: application/json",))
            + client.request("GET", "/nowhere")
        )
        statuses = [answer.status for answer in (client.answer(), client.answer(), client.answer()) if answer]
        assert statuses == [404, 201, 404]


def test_an_oversized_body_is_refused_unread_and_the_connection_closes(local_server):
    with connection(local_server) as client:
        client.send(client.request("POST", "/devices", b"", ("Content-Length: 20000000",)))
        answer = client.answer()
        assert answer is not None
        answer.problem(413, "payload-too-large")
        assert client.closed()


def test_a_large_body_waiting_for_100_continue_gets_it(local_server):
    with connection(local_server) as client:
        body = device_body()
        client.send(
            client.request(
                "POST",
                "/devices",
                b"",
                ("Content-Type: application/json", f"Content-Length: {len(body)}", "Expect: 100-continue"),
            )
        )
        interim = client.answer()
        assert interim is not None and interim.status == 100
        client.send(body)
        created = client.answer()
        assert created is not None and created.status == 201


def test_a_coded_body_is_415_naming_what_is_accepted(local_server):
    with connection(local_server) as client:
        client.send(
            client.request(
                "POST", "/devices", b"\x1f\x8b\x08\x00", ("Content-Type: application/json", "Content-Encoding: gzip")
            )
        )
        answer = client.answer()
        assert answer is not None
        problem = answer.problem(415, "unsupported-media-type")
        assert "gzip" in problem["detail"] and "identity" in problem["detail"]
        assert answer.headers["Accept-Encoding"] == "identity"


def test_if_match_on_two_lines_is_one_list(local_server):
    with connection(local_server) as client:
        client.send(client.request("POST", "/devices", device_body(), ("Content-Type: application/json",)))
        created = client.answer()
        assert created is not None and created.status == 201
        path = f"/devices/{json.loads(created.body)['id']}"
        patch = b'{"location": "Attic"}'
        client.send(
            client.request("PATCH", path, patch, ("Content-Type: application/json", 'If-Match: "1"', 'If-Match: "7"'))
        )
        first = client.answer()
        assert first is not None and first.status == 200 and first.headers["ETag"] == '"2"'
        client.send(
            client.request("PATCH", path, patch, ("Content-Type: application/json", 'If-Match: "5"', 'If-Match: "7"'))
        )
        second = client.answer()
        assert second is not None
        second.problem(412, "precondition-failed")


def test_a_burst_of_concurrent_clients_is_answered_without_a_reset(local_server):
    """48 clients at once, each on a new connection, a third of them registering devices."""
    clients, rounds = 48, 3
    failures: list[str] = []
    statuses: list[int] = []
    start = threading.Barrier(clients)

    def run(n: int) -> None:
        start.wait()
        for _ in range(rounds):
            try:
                with connection(local_server) as client:
                    if n % 3 == 0:
                        client.send(
                            client.request("POST", "/devices", device_body(), ("Content-Type: application/json",))
                        )
                    else:
                        client.send(client.request("GET", "/devices?limit=1"))
                    answer = client.answer()
                    statuses.append(answer.status if answer else 0)
            except OSError as error:
                failures.append(f"{type(error).__name__}: {error}")

    threads = [threading.Thread(target=run, args=(n,)) for n in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    assert sorted(set(statuses)) == [200, 201] and len(statuses) == clients * rounds
    assert statuses.count(201) == (clients // 3) * rounds
