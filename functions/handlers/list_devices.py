"""GET /devices — device summaries, a page at a time, optionally filtered."""

from typing import Annotated

from aws_lambda_powertools.event_handler import Depends
from aws_lambda_powertools.event_handler.openapi.params import Query

from registry.entry import entry
from registry.models import PAGE_SIZE_DEFAULT, DevicePage, DeviceType, MacAddress, StatusValue
from registry.operation_docs import errors
from registry.params import PageCursor, PageSize
from registry.resolver import RouteApp
from registry.service import DeviceService
from registry.views import device_summary
from registry.wiring import get_service

app = RouteApp("list_devices")


@app.operation(
    summary="List devices",
    description="Summaries (with status), ordered by id (registration order). Follow `next_cursor` until null.",
    responses={200: {"description": "A page of summaries"}, **errors(400, 422)},
    tags=["devices"],
)
def list_devices(
    service: Annotated[DeviceService, Depends(get_service)],
    limit: PageSize = PAGE_SIZE_DEFAULT,
    cursor: PageCursor = None,
    device_type: Annotated[DeviceType | None, Query(description="Only this type")] = None,
    status: Annotated[StatusValue | None, Query(description="Only this status")] = None,
    mac_address: Annotated[MacAddress | None, Query(description="Only this MAC address, any spelling")] = None,
) -> DevicePage:
    items, next_cursor = service.list_devices(
        limit=limit,
        cursor=cursor,
        device_type=device_type,
        status=status.value if status else None,
        mac_address=mac_address,
    )
    return DevicePage(items=[device_summary(item) for item in items], next_cursor=next_cursor)


lambda_handler = entry(app)
