"""GET /devices — device summaries (or, with ``view=detail``, details with their status), a page at a
time, optionally filtered."""

from typing import Annotated

from aws_lambda_powertools.event_handler import Depends
from aws_lambda_powertools.event_handler.openapi.params import Query

from registry.devices.service import DeviceService
from registry.domain.fleet import FleetFilter
from registry.domain.vocabulary import LivenessValue, StatusValue
from registry.http.app import RouteApp
from registry.http.lambda_entry import entry
from registry.http.operation_docs import errors
from registry.http.params import FirmwareFilter, LocationFilter, NamePrefix, PageCursor, PageSize, SerialFilter
from registry.http.views import device_summary, device_with_status
from registry.schemas import (
    PAGE_SIZE_DEFAULT,
    DeviceDetailPage,
    DevicePage,
    DeviceType,
    IpAddress,
    ListView,
    MacAddress,
    Tag,
)
from registry.wiring import get_service

app = RouteApp("list_devices")


@app.operation(
    summary="List devices",
    description=(
        "Summaries (with status), ordered by id (registration order). Filters are exact and combine with AND. "
        "One filter: a page reads at most `limit + 1` entries and is full unless it is the last. Several filters "
        "(or a `name_prefix` of a length other than 1, 2, 4 or 8): a page reads at most `5 × (limit + 1)`, so it "
        "may hold fewer than `limit` items, even none, while `next_cursor` is not null. Follow `next_cursor` "
        "until null. `view=detail`: each item is the device's detail with its status resource under `status` "
        "(the same page, its devices' items read in one batch). Unknown query parameters are ignored."
    ),
    responses={
        200: {"description": "A page of summaries (`view=summary`) or of details (`view=detail`)"},
        **errors(400, 422),
    },
    tags=["devices"],
)
def list_devices(
    service: Annotated[DeviceService, Depends(get_service)],
    limit: PageSize = PAGE_SIZE_DEFAULT,
    cursor: PageCursor = None,
    device_type: Annotated[DeviceType | None, Query(description="Only this type")] = None,
    status: Annotated[StatusValue | None, Query(description="Only this status")] = None,
    mac_address: Annotated[MacAddress | None, Query(description="Only this MAC address, any spelling")] = None,
    firmware_version: FirmwareFilter = None,
    location: LocationFilter = None,
    serial_number: SerialFilter = None,
    ip_address: Annotated[IpAddress | None, Query(description="Only this IP address, any spelling")] = None,
    tag: Annotated[Tag | None, Query(description="Only devices carrying this tag (any case)")] = None,
    name_prefix: NamePrefix = None,
    liveness: Annotated[LivenessValue | None, Query(description="Only devices pending, reporting or silent")] = None,
    view: Annotated[
        ListView,
        Query(
            description=(
                "`summary`: id, name, type, MAC, status, liveness, last_seen_at; `detail`: as GET /devices/{id}, "
                "with `status` its status resource"
            )
        ),
    ] = "summary",
) -> DevicePage | DeviceDetailPage:
    filters = FleetFilter(
        device_type=device_type,
        status=status.value if status else None,
        mac_address=mac_address,
        firmware_version=firmware_version,
        location=location,
        serial_number=serial_number,
        ip_address=ip_address,
        tag=tag,
        name_prefix=name_prefix,
        liveness=liveness.value if liveness else None,
    )
    if view == "detail":
        devices, next_cursor = service.list_device_details(limit=limit, cursor=cursor, filters=filters)
        details = [device_with_status(device, seen) for device, seen in devices]
        return DeviceDetailPage(items=details, next_cursor=next_cursor)
    items, next_cursor = service.list_devices(limit=limit, cursor=cursor, filters=filters)
    return DevicePage(items=[device_summary(item) for item in items], next_cursor=next_cursor)


lambda_handler = entry(app)
