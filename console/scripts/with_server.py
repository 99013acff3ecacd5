"""Run a command against a fresh local server (in memory, on a free port): its URL in
CONSOLE_API_URL. `make screenshots` runs console/scripts/screenshots.mjs with it."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

from tests.support import ROOT, LocalServer


def main(command: list[str]) -> int:
    with tempfile.TemporaryDirectory() as scratch:
        server = LocalServer(Path(scratch) / "server.log")
        try:
            url = server.start()
            return subprocess.run(command, cwd=ROOT, env={**os.environ, "CONSOLE_API_URL": url}).returncode
        finally:
            server.close()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
