"""Function code assets with their bytecode: each asset is staged (the files the asset's
exclude patterns keep, chosen by CDK's own ignore rules) and every module compiled beside its
source as an unchecked-hash ``.pyc`` for the runtime's Python, so a cold start compiles nothing.

Lambda's ``/var/task`` is read-only and an asset held no ``.pyc``: every cold start compiled our
modules from source (58-97 ms per function in docs/performance.md). An unchecked-hash ``.pyc``
(PEP 552) is loaded without looking at the source's timestamp, so the staged files' times do not
matter; and each is compiled under the path Lambda will import it from (``/var/task/…``), not the
staging folder's (a new temporary one every synth), so the asset and its hash are the same on
every synth of the same code: a deploy with no code change changes no function.

One synth stages each distinct asset once: the three stacks the tests synthesize share their
functions' assets, and staging (a jsii call per file to apply CDK's ignore rules, and compiling
every module) was two thirds of building a stack."""

from __future__ import annotations

import atexit
import functools
import os
import py_compile
import shutil
import sys
import tempfile
from pathlib import Path

from aws_cdk import CopyOptions, IgnoreMode, IgnoreStrategy
from aws_cdk import aws_lambda as lambda_

# The functions' runtime (infra/functions.py pins python3.13): the interpreter that synthesizes
# must be the same minor version, since a .pyc holds its interpreter's magic number.
RUNTIME_PYTHON = (3, 13)
# Where Lambda unpacks a function's code (its LAMBDA_TASK_ROOT): the file names the bytecode keeps.
TASK_ROOT = "/var/task"


def code_with_bytecode(source: Path, exclude: list[str]) -> lambda_.Code:
    """``Code.from_asset(source, exclude=exclude)`` plus the kept modules' ``.pyc``."""
    return lambda_.Code.from_asset(str(stage(source, exclude)))


def stage(source: Path, exclude: list[str]) -> Path:
    if sys.version_info[:2] != RUNTIME_PYTHON:
        raise RuntimeError(f"synthesize with Python {'.'.join(map(str, RUNTIME_PYTHON))}: the assets ship its bytecode")
    return _staged(source.resolve(), tuple(exclude))


@functools.cache
def _staged(root: Path, exclude: tuple[str, ...]) -> Path:
    """The staged asset (read-only once made: CDK copies it into the assembly by its hash)."""
    ignore = IgnoreStrategy.from_copy_options(CopyOptions(exclude=list(exclude), ignore_mode=IgnoreMode.GIT), str(root))
    staged = Path(tempfile.mkdtemp(prefix="function-asset-"))
    atexit.register(shutil.rmtree, staged, ignore_errors=True)  # CDK has copied it into cdk.out by then
    for directory, _, files in os.walk(root):
        for name in sorted(files):
            path = Path(directory) / name
            if ignore.ignores(str(path)):
                continue
            target = staged / path.relative_to(root)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target)
            if target.suffix == ".py":
                _compile(target, f"{TASK_ROOT}/{path.relative_to(root).as_posix()}")
    return staged


def _compile(module: Path, imported_from: str) -> None:
    """``module``'s bytecode in its ``__pycache__``, where the import system looks for it, naming
    the file it will be imported from (tracebacks in Lambda name the source there)."""
    py_compile.compile(
        str(module),
        dfile=imported_from,
        doraise=True,
        invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH,
    )
