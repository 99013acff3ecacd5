"""Device credentials as operators manage them: created with a secret shown once, listed without
secrets, at most two per device, revoked one by one or all at once with their device."""

import base64
import re

import pytest

from registry.domain import credentials
from registry.storage import keys as table
from tests.support import IDEMPOTENCY_TABLE_NAME


@pytest.fixture
def device(make_device):
    return make_device()


def _create(invoke, device_id, **kwargs):
    return invoke("create_credential", f"/devices/{device_id}/credentials", body={}, **kwargs)


def test_a_new_credential_answers_its_secret_once_with_256_random_bits(invoke, device):
    response = _create(invoke, device["id"])

    assert response["statusCode"] == 201
    body = response["json"]
    assert set(body) == {"credential_id", "secret", "created_at"}
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", body["secret"])
    assert len(base64.urlsafe_b64decode(body["secret"] + "=")) * 8 == 256
    assert response["headers"]["Cache-Control"] == "no-store"
    listed = invoke("list_credentials", f"/devices/{device['id']}/credentials")["json"]
    summary = {"credential_id": body["credential_id"], "created_at": body["created_at"], "last_used_at": None}
    assert listed == {"items": [summary]}


def test_the_secret_is_stored_only_as_a_salted_scrypt_hash(invoke, device, table_items):
    first = _create(invoke, device["id"])["json"]
    second = _create(invoke, device["id"])["json"]

    stored = {item["credential_id"]: item for item in table_items() if item.get("credential_id")}
    text = repr(table_items())
    assert first["secret"] not in text and second["secret"] not in text
    one, two = stored[first["credential_id"]], stored[second["credential_id"]]
    assert one["salt"] != two["salt"]
    assert (one["n"], one["r"], one["p"]) == (credentials.SCRYPT_N, credentials.SCRYPT_R, credentials.SCRYPT_P)
    fields = ("credential_id", "device_id", "created_at", "salt", "hash")
    record = credentials.StoredCredential(**{name: one[name] for name in fields})
    assert base64.b64encode(credentials.scrypt_hash(first["secret"], record)).decode() == one["hash"]


def test_a_third_active_credential_is_409_and_rotation_frees_a_place(invoke, device):
    first = _create(invoke, device["id"])["json"]
    _create(invoke, device["id"])

    refused = _create(invoke, device["id"])
    assert refused["statusCode"] == 409
    assert refused["json"]["type"].endswith(":too-many-credentials")

    revoked = invoke("delete_credential", f"/devices/{device['id']}/credentials/{first['credential_id']}")
    assert revoked["statusCode"] == 204
    assert _create(invoke, device["id"])["statusCode"] == 201
    listed = invoke("list_credentials", f"/devices/{device['id']}/credentials")["json"]["items"]
    assert len(listed) == 2 and first["credential_id"] not in {item["credential_id"] for item in listed}


def test_credentials_of_an_unknown_or_deleted_device_are_404(invoke, device):
    unknown = "0190f5e2-7a3b-7c1d-9e2f-000000000000"
    assert _create(invoke, unknown)["statusCode"] == 404
    assert invoke("list_credentials", f"/devices/{unknown}/credentials")["statusCode"] == 404
    invoke("delete_device", f"/devices/{device['id']}")
    assert _create(invoke, device["id"])["statusCode"] == 404
    assert invoke("list_credentials", f"/devices/{device['id']}/credentials")["statusCode"] == 404


def test_revoking_another_devices_credential_is_404_and_changes_nothing(invoke, make_device):
    mine, theirs = make_device(), make_device()
    credential = _create(invoke, theirs["id"])["json"]

    response = invoke("delete_credential", f"/devices/{mine['id']}/credentials/{credential['credential_id']}")

    assert response["statusCode"] == 404
    assert response["json"]["type"].endswith(":credential-not-found")
    assert len(invoke("list_credentials", f"/devices/{theirs['id']}/credentials")["json"]["items"]) == 1


def test_deleting_a_device_deletes_its_credentials_in_the_same_transaction(invoke, device, table_items):
    for _ in range(2):
        _create(invoke, device["id"])

    assert invoke("delete_device", f"/devices/{device['id']}")["statusCode"] == 204

    keys = {(item[table.PK], item[table.SK]) for item in table_items()}
    assert not any(pk.startswith(table.CREDENTIAL_PREFIX) for pk, _ in keys)
    assert table.device_credentials_key(device["id"]) not in [{"pk": pk, "sk": sk} for pk, sk in keys]


def test_a_credential_created_while_its_device_is_deleted_is_revoked_too(service, store, device, dynamodb):
    """The deletion reads the credential set, then a credential is added before its transaction:
    the condition on the set fails, the deletion is planned again and revokes both."""
    from registry.credentials.service import CredentialService
    from registry.storage.credentials import CredentialStore

    credentials_ = CredentialService(CredentialStore(dynamodb, store.table_name))
    credentials_.create(device["id"])
    raced = []

    def create_one_first(params, **_):
        if not raced:
            raced.append("creating")
            raced.append(credentials_.create(device["id"]))

    dynamodb.meta.events.register("before-call.dynamodb.TransactWriteItems", create_one_first)
    service.delete(device["id"], expected=None, principal="tester")

    assert len(raced) == 2
    remaining = dynamodb.scan(TableName=store.table_name)["Items"]
    assert not [item for item in remaining if item["pk"]["S"].startswith(table.CREDENTIAL_PREFIX)]
    assert not [item for item in remaining if item["sk"]["S"] == table.DEVICE_CREDENTIALS_SK]


def test_an_idempotency_key_on_creation_stores_no_secret(invoke, device, dynamodb):
    first = _create(invoke, device["id"], headers={"Idempotency-Key": "k-1"})
    again = _create(invoke, device["id"], headers={"Idempotency-Key": "k-1"})

    assert first["statusCode"] == again["statusCode"] == 201
    assert first["json"]["credential_id"] != again["json"]["credential_id"]  # never replayed
    assert dynamodb.scan(TableName=IDEMPOTENCY_TABLE_NAME)["Items"] == []
