"""The local server's embedded DynamoDB behaves as DynamoDB does where our reliability depends
on it: a transaction resent with its ClientRequestToken (botocore's retry after a lost answer)
succeeds without being applied twice; another token is a new transaction."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from local.dynamodb import EmbeddedDynamoDB, create_tables
from registry.storage import keys as table

TABLE, IDEMPOTENCY = "devices-embedded", "idempotency-embedded"


@pytest.fixture
def embedded() -> Iterator[Any]:
    server = EmbeddedDynamoDB().start()
    create_tables(server.endpoint, TABLE, IDEMPOTENCY)
    yield boto3.client("dynamodb", endpoint_url=server.endpoint)
    server.stop()


def _key() -> dict[str, Any]:
    return {name: {"S": value} for name, value in table.mac_claim_key("02:00:00:00:00:01").items()}


def _claim(client: Any, token: str, device: str) -> dict[str, Any]:
    put = {
        "TableName": TABLE,
        "Item": {**_key(), "device_id": {"S": device}},
        "ConditionExpression": "attribute_not_exists(pk)",
    }
    return dict(client.transact_write_items(TransactItems=[{"Put": put}], ClientRequestToken=token))


def test_a_transaction_resent_with_its_token_succeeds_without_being_applied_twice(embedded):
    _claim(embedded, "token-1", "first")
    _claim(embedded, "token-1", "first")  # the resend: its condition would now fail

    with pytest.raises(ClientError) as refused:
        _claim(embedded, "token-2", "second")
    assert refused.value.response["Error"]["Code"] == "TransactionCanceledException"
    item = embedded.get_item(TableName=TABLE, Key=_key())
    assert item["Item"]["device_id"] == {"S": "first"}
