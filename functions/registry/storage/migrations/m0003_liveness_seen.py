"""Migration 3: devices registered before liveness get the sign-of-life item (``sk = SEEN``) that
registration writes today, so that the sweep awaits them too: without it, a device that never
reports again after the upgrade stays ``pending`` for ever, in no ``due_by_deadline`` entry.

Each live device still ``pending`` (tombstones are awaited by nobody; a device that reported or
went silent since the deploy has its item already) gets ``pending``, never seen, with the
deadline a registration at the migration's time would get: the deployment's window
(``missed_reports × report_interval_s``, at least the resolution) from the run, not from its
registration. Counted from registration, every device of a fleet older than the window would go
silent at the first sweep, including the ones that report every minute an unchanged status —
which wrote nothing before liveness, so nothing says they are alive. From the run, each has one
window to report; the first report makes it ``reporting`` (a transition like any).

The item is put only where none is stored (``keep_existing``): one a report, a PATCH of
``report_interval_s`` or a registration wrote since the deploy is newer than anything derived,
and a repeated or resumed run changes nothing. The ``STATE`` item is not rewritten (it reads
``pending`` already), so a device counts as rewritten when its item was put."""

from __future__ import annotations

from typing import Any

from registry.domain.records import Seen
from registry.domain.vocabulary import LivenessValue
from registry.storage import keys
from registry.storage.migrations.migration import Derivation, Item, Migration


def _awaiting_first_report(item: Item) -> bool:
    return (
        item.get(keys.SK) == keys.STATE_SK
        and str(item.get(keys.PK, "")).startswith(keys.DEVICE_PREFIX)
        and item.get("deleted_at") is None
        and item.get("liveness", LivenessValue.PENDING.value) == LivenessValue.PENDING.value
    )


def derive(item: Item, derivation: Derivation) -> tuple[list[dict[str, Any]], Item]:
    """The device's sign-of-life item, awaited for one window from now; the ``STATE`` item as is."""
    # Imported here: registry.storage.liveness reads items through this package (upgraded).
    from registry.storage.liveness import seen_item

    interval = item.get("report_interval_s")
    deadline = derivation.liveness.pending_deadline(derivation.now, int(interval) if interval else None)
    seen = Seen(str(item["id"]), liveness=LivenessValue.PENDING.value, deadline=deadline)
    return [seen_item(seen)], item


MIGRATION = Migration(
    3,
    "liveness_seen",
    applies_to=_awaiting_first_report,
    transform=lambda item: item,  # nothing to change in memory: a device without the item reads pending
    derive=derive,
    keep_existing=True,
)
