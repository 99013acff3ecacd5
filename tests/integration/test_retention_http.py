"""Retention through the local server: an entry gone by TTL answers 404 ``history-expired`` over
HTTP, and leaves history pages. (TTL's deletion is done by hand: no API call can age an entry.)"""

import boto3
import requests

from local.server import TABLE_NAME
from registry.storage import keys as table
from tests.support import assert_problem


def test_a_status_entry_removed_by_ttl_answers_expired_over_http(local_server, local_dynamodb_endpoint):
    created = requests.post(
        f"{local_server}/devices",
        json={"name": "Aged", "device_type": "meter", "mac_address": "02:e7:00:00:00:01"},
        timeout=30,
    )
    device = created.json()["id"]
    path = f"{local_server}/devices/{device}"
    assert requests.put(f"{path}/status", json={"status": "online"}, timeout=30).status_code == 200
    assert requests.put(f"{path}/status", json={"status": "offline"}, timeout=30).status_code == 200

    client = boto3.client("dynamodb", endpoint_url=local_dynamodb_endpoint)
    key = {name: {"S": value} for name, value in table.revision_key(device, 2).items()}
    client.delete_item(TableName=TABLE_NAME, Key=key)

    assert_problem(requests.get(f"{path}/history/2", timeout=30), 404, "history-expired")
    assert_problem(requests.get(f"{path}/history/9", timeout=30), 404, "history-entry-not-found")
    revisions = [entry["revision"] for entry in requests.get(f"{path}/history", timeout=30).json()["items"]]
    assert revisions == [4, 3, 1]  # 3: the first report's liveness entry (pending -> reporting)
