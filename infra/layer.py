"""The functions' third-party libraries as one Lambda layer of our own, built from
``requirements-lambda.txt`` without Docker: pip installs the pinned wheels for the runtime's
Python version and the functions' platform into ``build/layers/``.

Why not the AWS-managed Powertools layer (docs/decisions.md, "Powertools by version"): a layer
is named by a number whose contents we cannot see offline, and the pydantic inside it is
whatever Powertools' release job resolved that day. Our own layer holds exactly the versions
the tests ran with; ``tests/infra/test_runtime_fidelity.py`` imports every function asset on Python 3.13 with only this
layer (built for the test machine's platform from the same file) and the runtime's boto3.

A layer is built once per lock-file content and platform, then reused (synth, tests); only
the first build reads PyPI (~3 s, or pip's cache)."""

from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from infra import REPO_ROOT

LOCK_FILE = REPO_ROOT / "requirements-lambda.txt"
BUILD_DIR = REPO_ROOT / "build" / "layers"
# Lambda's python3.13 on arm64 (Graviton), and the platform tests on this machine run.
LAMBDA_PYTHON = "3.13"
LAMBDA_PLATFORM = "manylinux2014_aarch64"
# Lambda adds <layer>/python to sys.path: a layer's archive holds its packages under python/.
SITE_DIR = "python"


def pinned() -> dict[str, str]:
    """``{"aws-lambda-powertools": "3.37.0", ...}``: what the layer holds, by distribution name."""
    pins = {}
    for line in LOCK_FILE.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        match = re.fullmatch(r"([A-Za-z0-9._-]+)==([A-Za-z0-9.+!-]+)", line)
        if match is None:
            raise ValueError(f"{LOCK_FILE.name}: {line!r} is not pinned with ==")
        pins[match.group(1).lower()] = match.group(2)
    return pins


def layer_dir(platform: str = LAMBDA_PLATFORM, python: str = LAMBDA_PYTHON) -> Path:
    """The built layer for ``platform`` (a directory holding ``python/``), built if missing."""
    digest = hashlib.sha256(LOCK_FILE.read_bytes()).hexdigest()[:12]
    # No dot in the name: CDK would stage the asset under the part after it, as if an extension.
    target = BUILD_DIR / f"py{python.replace('.', '')}-{platform}-{digest}"
    if not (target / SITE_DIR).is_dir():
        _build(target, platform, python)
    return target


def _build(target: Path, platform: str, python: str) -> None:
    BUILD_DIR.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".building-", dir=BUILD_DIR))
    site = staging / SITE_DIR
    command = [
        sys.executable,
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
        "--no-compile",  # Lambda compiles on import; stale .pyc of another interpreter would only add bytes
        "--no-deps",  # the lock file lists every package: nothing resolved behind our back
        "--only-binary=:all:",
        "--implementation=cp",
        f"--python-version={python}",
        f"--platform={platform}",
        f"--target={site}",
        "--requirement",
        str(LOCK_FILE),
    ]
    try:
        result = subprocess.run(command, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            errors = "\n".join(line for line in result.stderr.splitlines() if not line.startswith("WARNING"))
            raise RuntimeError(f"building the functions' layer for {platform} failed:\n{errors}")
        shutil.rmtree(site / "bin", ignore_errors=True)  # console scripts: nothing runs them in Lambda
        try:
            staging.rename(target)  # atomic: a build interrupted halfway is never taken for a layer
        except OSError:
            if not (target / SITE_DIR).is_dir():  # not another process's finished build: a real failure
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
