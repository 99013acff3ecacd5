"""The local server: the API's own handlers behind HTTP, on an embedded DynamoDB."""

import sys
from pathlib import Path

# The handlers import `registry` and `handlers` as top-level packages, as Lambda does with
# the functions/ asset at its root.
_FUNCTIONS = str(Path(__file__).resolve().parent.parent / "functions")
if _FUNCTIONS not in sys.path:
    sys.path.insert(0, _FUNCTIONS)
