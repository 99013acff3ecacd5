"""Asset size of each route function, from a fresh ``cdk synth`` (or ``cdk.out/`` if synth
cannot run), and what third-party code each function gets from where."""

from __future__ import annotations

import io
import json
import os
import subprocess
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from benchmarks.fixtures import ROOT

SYNTH_ENV = {
    "CDK_DISABLE_VERSION_CHECK": "1",
    "CDK_DISABLE_CLI_TELEMETRY": "1",
    "AWS_EC2_METADATA_DISABLED": "true",
    "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
}


@dataclass
class Asset:
    function: str  # logical id, e.g. GetDevice
    handler: str
    files: int
    bytes: int
    zip_bytes: int
    layers: list[str]
    runtime: str
    memory_mb: int
    architecture: str


@dataclass
class Assets:
    source: str  # where the figures come from
    functions: list[Asset]


def synth(outdir: Path) -> subprocess.Popen[bytes]:
    """Start ``cdk synth`` into ``outdir`` (it runs while other benchmarks run)."""
    env = {**os.environ, **SYNTH_ENV, "PYTHONPATH": f"{ROOT / 'functions'}:{ROOT}"}
    command = ["npx", "--no-install", "cdk", "synth", "--quiet", "--output", str(outdir)]
    return subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def _zip_size(directory: Path) -> tuple[int, int, int]:
    files = sorted(path for path in directory.rglob("*") if path.is_file())
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in files:
            archive.write(path, path.relative_to(directory))
    return len(files), sum(path.stat().st_size for path in files), len(buffer.getvalue())


def read(cloud_assembly: Path, source: str) -> Assets:
    templates = sorted(cloud_assembly.glob("*.template.json"))
    if not templates:
        raise FileNotFoundError(f"no template in {cloud_assembly}")
    resources = json.loads(templates[0].read_text())["Resources"]
    found = []
    for logical_id, resource in resources.items():
        properties = resource.get("Properties", {})
        handler = str(properties.get("Handler", ""))
        if resource["Type"] != "AWS::Lambda::Function" or not handler.startswith("handlers."):
            continue
        asset_dir = cloud_assembly / resource["Metadata"]["aws:asset:path"]
        files, size, zipped = _zip_size(asset_dir)
        layers = [_layer_name(layer) for layer in properties.get("Layers", [])]
        found.append(
            Asset(
                logical_id,
                properties["Handler"],
                files,
                size,
                zipped,
                layers,
                properties.get("Runtime", "?"),
                int(properties.get("MemorySize", 128)),
                ",".join(properties.get("Architectures", ["x86_64"])),
            )
        )
    return Assets(source, found)


def _layer_name(layer: object) -> str:
    """A layer by ARN (its name and version), or ours by its logical id (built from requirements-lambda.txt)."""
    text = json.dumps(layer)
    if ":layer:" in text:
        return text.split(":layer:")[-1].rstrip('"}]')
    return f"{layer['Ref']} (requirements-lambda.txt)" if isinstance(layer, dict) and "Ref" in layer else text


def from_functions_dir() -> Assets:
    """What each asset would hold (the allow-list in infra/functions.py), measured from
    ``functions/`` when neither synth nor ``cdk.out/`` is available."""
    from registry.http.routes import ROUTES

    found = []
    for route in ROUTES:
        with tempfile.TemporaryDirectory() as scratch:
            target = Path(scratch)
            for path in (ROOT / "functions" / "registry").iterdir():
                if path.is_file() and path.suffix in {".py", ".json"}:
                    (target / "registry").mkdir(exist_ok=True)
                    (target / "registry" / path.name).write_bytes(path.read_bytes())
            (target / "handlers").mkdir()
            for name in ("__init__.py", f"{route.handler}.py"):
                (target / "handlers" / name).write_bytes((ROOT / "functions" / "handlers" / name).read_bytes())
            files, size, zipped = _zip_size(target)
        handler = f"handlers.{route.handler}.lambda_handler"
        found.append(Asset(route.function_id, handler, files, size, zipped, [], "?", 0, "?"))
    return Assets("functions/ (no synth output available)", found)


def collect(process: subprocess.Popen[bytes] | None, outdir: Path) -> Assets:
    if process is not None:
        _, stderr = process.communicate()
        if process.returncode == 0:
            return read(outdir, "a fresh `cdk synth` of this tree")
        print(f"  cdk synth failed ({process.returncode}): {stderr.decode()[-500:]}")
    if (ROOT / "cdk.out").is_dir():
        try:
            return read(ROOT / "cdk.out", "cdk.out/ (existing; synth did not run)")
        except FileNotFoundError:
            pass
    return from_functions_dir()
