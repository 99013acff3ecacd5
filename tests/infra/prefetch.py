"""``make prefetch`` (part of the tests' setup): what the infra tests would otherwise download from
PyPI in the middle of the run, fetched before it starts — the functions' layer for Lambda's
platform (every synth stages it), the same layer for this machine's platform and the runtime's
boto3 (tests/infra/test_runtime_fidelity.py runs the assets with them). Each is built once per
lock-file content (infra/layer.py) and read by the tests from ``build/``.

Before any test: under ``make test-future`` the clock runs years ahead, and PyPI's TLS certificate
then reads as expired (pip: ``CERTIFICATE_VERIFY_FAILED … certificate has expired``), so a layer
built inside the run failed every synthesized-template test at +3650d (787 errors)."""

from __future__ import annotations

from infra.layer import LAMBDA_PYTHON, layer_dir
from tests.infra.test_runtime_fidelity import HOST_PLATFORM, runtime_boto3


def main() -> None:
    for built in (layer_dir(), layer_dir(HOST_PLATFORM, LAMBDA_PYTHON), runtime_boto3(LAMBDA_PYTHON)):
        print(f"prefetched {built.relative_to(built.parents[2])}")


if __name__ == "__main__":
    main()
