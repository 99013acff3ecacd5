"""The console's pre-token-generation trigger (handlers/console_token.py) on events/console_token.json,
Cognito's V2_0 event: an operator outside the ``writers`` group signs in with a read-only access
token; a writer keeps what was asked; and the answer is the event, as Cognito expects it back."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from handlers import console_token
from registry.http.routes import READ, WRITE

EVENT = json.loads((Path(__file__).resolve().parents[2] / "events" / "console_token.json").read_text())


def sign_in(groups: list[str], scopes: list[str] | None = None) -> dict[str, Any]:
    event = copy.deepcopy(EVENT)
    event["request"]["groupConfiguration"]["groupsToOverride"] = groups
    if scopes is not None:
        event["request"]["scopes"] = scopes
    return console_token.lambda_handler(event, None)


@pytest.mark.parametrize("groups", [[], ["auditors"], ["readers"]], ids=["no group", "another group", "readers"])
def test_an_operator_outside_the_writers_group_gets_no_write_scope(groups: list[str]) -> None:
    answer = sign_in(groups)

    assert answer["response"]["claimsAndScopeOverrideDetails"] == {
        "accessTokenGeneration": {"scopesToSuppress": [WRITE]}
    }


def test_a_writer_keeps_every_scope_asked_for() -> None:
    answer = sign_in(["auditors", console_token.WRITERS_GROUP])

    assert answer["response"]["claimsAndScopeOverrideDetails"] is None
    assert answer["request"]["scopes"] == [READ, WRITE]


def test_a_sign_in_that_asked_only_to_read_is_left_as_it_is() -> None:
    assert sign_in([], [READ])["response"]["claimsAndScopeOverrideDetails"] is None


def test_the_answer_is_the_event_itself_with_only_the_response_changed() -> None:
    answer = sign_in([])

    assert {key: value for key, value in answer.items() if key != "response"} == {
        key: value for key, value in EVENT.items() if key != "response"
    }
