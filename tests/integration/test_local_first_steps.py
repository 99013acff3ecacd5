"""What a new user meets first with `make run` (issue 21, item 11): a browser at the root is sent to
the docs, each request is one access line, and a second server whose embedded DynamoDB port is
taken says so, naming the database and DYNAMODB_PORT."""

from __future__ import annotations

import socket
import subprocess

import pytest
import requests

from tests.support import ROOT, LocalServer


def test_the_root_and_swagger_slash_redirect_to_the_docs_and_each_request_is_one_access_line(tmp_path):
    server = LocalServer(tmp_path / "server.log")
    try:
        url = server.start()
        for path in ("/", "/swagger/"):
            answer = requests.get(f"{url}{path}", allow_redirects=False, timeout=30)
            assert (answer.status_code, answer.headers["Location"]) == (302, "/swagger")
        assert requests.get(f"{url}/", timeout=30).headers["Content-Type"].startswith("text/html")
        log = server.log.read_text()
        assert "GET / 302 " in log and "GET /swagger/ 302 " in log and "GET /swagger 200 " in log
        assert '"_aws"' not in log  # no embedded-metric JSON unless POWERTOOLS_METRICS_DISABLED=false
    finally:
        server.close()


def test_an_embedded_dynamodb_port_in_use_is_named_with_dynamodb_port(tmp_path):
    with socket.create_server(("127.0.0.1", 0)) as taken:
        server = LocalServer(tmp_path / "server.log", DYNAMODB_PORT=str(taken.getsockname()[1]))
        with pytest.raises(RuntimeError, match="did not start"):
            server.start()
    log = server.log.read_text()
    assert "embedded DynamoDB cannot listen" in log and "DYNAMODB_PORT" in log and "Traceback" not in log


def test_make_run_derives_the_embedded_dynamodb_port_from_port():
    shown = subprocess.run(
        ["make", "-s", "--eval", "show-ports: ; @echo $(DYNAMODB_PORT)", "show-ports", "PORT=3400"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    assert shown.stdout.strip() == "3401"
