"""The AWS deployment of the Device Registry, as CDK constructs by concern.

The stack reads the same declarations the Lambda code and the local server read (the route
table, the table definition, the settings), from the ``registry`` package under ``functions/``.
That directory is the root of every Lambda code asset, so ``registry`` is a top-level package
there; this makes it importable the same way for the CDK app and its tests, however they start.
"""

from __future__ import annotations

import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
FUNCTIONS_DIR = REPO_ROOT / "functions"

if str(FUNCTIONS_DIR) not in sys.path:
    sys.path.insert(0, str(FUNCTIONS_DIR))
