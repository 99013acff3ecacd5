"""GET /devices/{device_id}/history — a device's history, newest first by default."""

from typing import Annotated

from aws_lambda_powertools.event_handler import Depends
from aws_lambda_powertools.event_handler.openapi.params import Query

from registry.devices.service import DeviceService
from registry.http.app import RouteApp
from registry.http.lambda_entry import entry
from registry.http.operation_docs import errors
from registry.http.params import DeviceIdPath, PageCursor, PageSize
from registry.http.views import history_entry
from registry.schemas import PAGE_SIZE_DEFAULT, HistoryKindFilter, HistoryPage, Order, TimestampQuery
from registry.wiring import get_service

app = RouteApp("list_history")


@app.operation(
    summary="List a device's history",
    description=(
        "Every change of attributes or status, including those of a deleted device. "
        "`kind=config` includes the `created` and `deleted` entries; `kind=liveness` lists the registry's "
        "liveness transitions (pending, reporting, silent)."
    ),
    responses={200: {"description": "A page of history entries"}, **errors(400, 404, 422)},
    tags=["history"],
)
def list_history(
    device_id: DeviceIdPath,
    service: Annotated[DeviceService, Depends(get_service)],
    kind: Annotated[
        HistoryKindFilter | None,
        Query(description="Only config, only status or only liveness entries (each excludes the others)"),
    ] = None,
    since: Annotated[TimestampQuery | None, Query(description="Entries at or after this ISO 8601 time")] = None,
    until: Annotated[TimestampQuery | None, Query(description="Entries before this ISO 8601 time")] = None,
    order: Annotated[Order, Query(description="`desc`: newest first")] = "desc",
    limit: PageSize = PAGE_SIZE_DEFAULT,
    cursor: PageCursor = None,
) -> HistoryPage:
    items, next_cursor = service.history(
        device_id, kind=kind, since=since, until=until, order=order, limit=limit, cursor=cursor
    )
    return HistoryPage(items=[history_entry(item) for item in items], next_cursor=next_cursor)


lambda_handler = entry(app)
