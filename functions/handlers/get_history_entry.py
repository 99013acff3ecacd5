"""GET /devices/{device_id}/history/{revision} — one immutable history entry."""

from typing import Annotated

from aws_lambda_powertools.event_handler import Depends
from aws_lambda_powertools.event_handler.openapi.params import Path

from registry.devices.service import DeviceService
from registry.http.app import RouteApp
from registry.http.lambda_entry import entry
from registry.http.operation_docs import errors
from registry.http.params import DeviceIdPath, RevisionNumber
from registry.http.views import history_entry
from registry.schemas import HistoryEntry
from registry.wiring import get_service

app = RouteApp("get_history_entry")


@app.operation(
    summary="Get one history entry",
    responses={200: {"description": "The entry (immutable)"}, **errors(404, 422)},
    tags=["history"],
)
def get_history_entry(
    device_id: DeviceIdPath,
    revision: Annotated[RevisionNumber, Path(description="Revision number")],
    service: Annotated[DeviceService, Depends(get_service)],
) -> HistoryEntry:
    return history_entry(service.history_entry(device_id, revision))


lambda_handler = entry(app)
