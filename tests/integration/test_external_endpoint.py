"""`AWS_ENDPOINT_URL_DYNAMODB` points the local server at another DynamoDB-compatible endpoint."""

import os
import subprocess
import sys
import time

import boto3
import requests

from local.dynamodb import EmbeddedDynamoDB
from local.server import TABLE_NAME
from registry.storage import keys as table
from tests.support import ROOT, free_port


def test_local_server_uses_the_endpoint_named_by_aws_endpoint_url_dynamodb(tmp_path):
    external = EmbeddedDynamoDB().start()
    port = free_port()
    env = {**os.environ, "AWS_ENDPOINT_URL_DYNAMODB": external.endpoint, "PORT": str(port)}
    for name in ("TABLE_NAME", "IDEMPOTENCY_TABLE_NAME"):
        env.pop(name, None)
    log = (tmp_path / "server.log").open("w")
    server = subprocess.Popen([sys.executable, "-m", "local.server"], cwd=ROOT, env=env, stdout=log, stderr=log)
    try:
        url = f"http://127.0.0.1:{port}"
        for _ in range(300):
            try:
                requests.get(f"{url}/devices", timeout=1)
                break
            except (requests.ConnectionError, requests.Timeout):  # not listening yet, or a busy machine
                time.sleep(0.1)
        created = requests.post(
            f"{url}/devices",
            json={"name": "Edge gateway", "device_type": "gateway", "mac_address": "0a:0b:0c:0d:0e:0f"},
            timeout=10,
        )
        assert created.status_code == 201

        client = boto3.client("dynamodb", endpoint_url=external.endpoint)
        key = table.device_key(created.json()["id"])
        item = client.get_item(TableName=TABLE_NAME, Key={name: {"S": value} for name, value in key.items()})
        assert item["Item"]["name"] == {"S": "Edge gateway"}
    finally:
        server.terminate()
        server.wait(timeout=10)
        log.close()
        external.stop()
