"""One cold start, run as a fresh process: ``python benchmarks/child.py ours|source|peer|floor <route>``
with the API Gateway event on stdin. Prints the status code it answered.

Kept free of imports beyond what the variant itself needs, so the process measures only that."""

import os
import sys


class Context:
    function_name = "bench"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:bench"
    aws_request_id = "00000000-0000-4000-8000-000000000000"

    def get_remaining_time_in_millis(self) -> int:
        return 25_000


def main() -> int:
    kind, route = sys.argv[1], sys.argv[2]
    payload = sys.stdin.read()
    if kind == "floor":
        # Any Python Lambda that reads DynamoDB pays this: boto3, a client, one GetItem.
        import json

        import boto3

        client = boto3.client("dynamodb")
        response = client.get_item(TableName=os.environ["TABLE_NAME"], Key=json.loads(payload))
        status = 200 if "Item" in response else 404
    else:
        import importlib
        import json

        if kind in ("ours", "source"):  # source: the same asset without its bytecode
            handler = importlib.import_module(f"handlers.{route}").lambda_handler
        else:
            handler = importlib.import_module("benchmarks.peers.app").handler(route)
        status = handler(json.loads(payload), Context())["statusCode"]
    print(f"status={status}", flush=True)
    return 0


if __name__ == "__main__":
    # A Lambda environment is not torn down after its first answer: skip the interpreter's
    # teardown (it grows with the modules loaded), which would otherwise count against us.
    code = main()
    sys.stderr.flush()
    os._exit(code)
