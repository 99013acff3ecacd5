"""Fuzzing from the contract: schemathesis' own command line, every check it has (``--checks
all``: status codes, content types, response headers and bodies, positive data accepted,
negative data rejected, unsupported methods, missing headers, resources after create and
delete), every phase (the document's examples, boundary coverage, random fuzzing, stateful
sequences that follow the ids each answer returns), over every operation of the document the
local server serves, against that server. Zero failures.

Three built-in checks run in a form that knows the contract's exceptions
(``schemathesis_hooks.py`` names and explains each); one does not run here: ``ignored_auth``
(a declared security scheme must refuse requests without a token) — in AWS, API Gateway's
Cognito authorizer enforces each route's scope (tests/infra check every method has it), while
the local server, by contract, needs no account or token at all.

In ``make test`` each operation gets ``FUZZ_EXAMPLES`` (default 10) examples with a fixed seed,
so a failure reproduces; ``make fuzz`` runs many more with a new seed each time (printed)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import requests

from registry import openapi
from tests.support import python_path

DEFAULT_EXAMPLES = "10"
EXAMPLES = os.environ.get("FUZZ_EXAMPLES", DEFAULT_EXAMPLES)
SEED = os.environ.get("FUZZ_SEED") or ("1" if EXAMPLES == DEFAULT_EXAMPLES else None)
CONTRACT = Path(openapi.__file__).with_name("openapi.json")
ROOT = Path(__file__).resolve().parents[2]
# Replaced by their contract-aware forms in schemathesis_hooks, or not applicable (module doc).
REPLACED_CHECKS = ("positive_data_acceptance", "negative_data_rejection", "use_after_free")
NOT_APPLICABLE_LOCALLY = ("ignored_auth",)


def test_fuzzed_contract_is_the_one_the_server_serves(local_server):
    served = requests.get(f"{local_server}/swagger?format=json", timeout=30).json()
    assert served == json.loads(CONTRACT.read_text())


def test_every_operation_answers_as_its_contract_says_under_every_check(local_server, tmp_path, figures):
    command = [
        str(Path(sys.executable).with_name("schemathesis")),
        "run",
        str(CONTRACT),  # the served document (above); by URL, schemathesis would skip GET /swagger itself
        f"--url={local_server}",
        "--checks=all",
        f"--exclude-checks={','.join(REPLACED_CHECKS + NOT_APPLICABLE_LOCALLY)}",
        f"--max-examples={EXAMPLES}",
        "--request-timeout=30",
        "--no-color",
        *([f"--seed={SEED}"] if SEED else []),
    ]
    env = {
        **os.environ,
        "SCHEMATHESIS_HOOKS": "tests.reliability.schemathesis_hooks",
        "PYTHONPATH": python_path(),
    }
    run = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=3600)
    report = run.stdout + run.stderr
    assert run.returncode == 0, report[-20_000:]
    operations = sum(len(path) for path in json.loads(CONTRACT.read_text())["paths"].values())
    assert re.search(rf"Tested: {operations}\b", report), report[-5_000:]
    generated = re.search(r"(\d+) generated, (\d+) passed", report)
    assert generated and generated.group(1) == generated.group(2), report[-5_000:]
    figures["schemathesis: operations / requests checked"] = f"{operations} / {generated.group(1)}"
    figures["schemathesis: seed"] = re.search(r"Seed: (\d+)", report).group(1)  # type: ignore[union-attr]
