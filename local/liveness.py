"""The liveness sweep locally: a background thread that invokes the sweep function's own handler
(handlers/sweep_liveness.py) every ``LIVENESS_SWEEP_S`` seconds (default 60), with the sample
schedule event, as the EventBridge schedule does in AWS (infra/liveness.py). A failed sweep is
logged and the next one runs: the devices still due are found again."""

from __future__ import annotations

import json
import logging
import os
import threading
from pathlib import Path

from local.proxy_events import LambdaContext

SAMPLE = Path(__file__).resolve().parents[1] / "events" / "sweep_liveness.json"
DEFAULT_SWEEP_S = 60

log = logging.getLogger(__name__)


def sweep_seconds() -> float:
    raw = os.environ.get("LIVENESS_SWEEP_S", "").strip()
    seconds = float(raw) if raw else DEFAULT_SWEEP_S
    if seconds <= 0:
        raise ValueError(f"LIVENESS_SWEEP_S must be a positive number of seconds, got {raw!r}")
    return seconds


class LivenessTimer:
    """Runs the sweep every ``period`` seconds until stopped."""

    def __init__(self, period: float) -> None:
        self.period = period
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="liveness-sweep", daemon=True)

    def start(self) -> LivenessTimer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        # Imported here: the sweep's modules load the handlers' settings from the environment,
        # which the server sets before it starts the timer.
        from handlers.sweep_liveness import lambda_handler

        event = json.loads(SAMPLE.read_text(encoding="utf-8"))
        while not self._stop.wait(self.period):
            try:
                lambda_handler(event, LambdaContext(function_name="sweep_liveness"))  # type: ignore[arg-type]
            except Exception:  # the next sweep finds the same devices due
                log.warning("liveness sweep failed", exc_info=True)
