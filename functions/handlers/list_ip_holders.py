"""GET /ip-addresses/{ip}/holders — every device that held an IP address, and when."""

from typing import Annotated
from urllib.parse import unquote

from aws_lambda_powertools.event_handler import Depends
from aws_lambda_powertools.event_handler.openapi.params import Path
from pydantic import BeforeValidator

from registry.devices.service import DeviceService
from registry.http.app import RouteApp
from registry.http.lambda_entry import entry
from registry.http.operation_docs import errors
from registry.http.params import PageCursor, PageSize
from registry.http.views import holder_interval
from registry.schemas import PAGE_SIZE_DEFAULT, HolderPage, IpAddress
from registry.wiring import get_service

app = RouteApp("list_ip_holders")


@app.operation(
    summary="List the devices that held an IP address",
    description=(
        "Every interval during which a device held this IPv4 or IPv6 address, newest first, deleted devices "
        "included: `until` is null while the device still holds it. Any spelling of the address is compared "
        "in its canonical form. Several devices may hold one IP address at once."
    ),
    responses={200: {"description": "A page of holder intervals"}, **errors(400, 422)},
    tags=["history"],
)
def list_ip_holders(
    # Clients percent-encode an IPv6 address's colons (%3A); no address holds a "%" (a zone is refused).
    ip: Annotated[
        IpAddress,
        BeforeValidator(unquote),
        Path(description="IPv4 or IPv6 address, any spelling", examples=["192.0.2.10"]),
    ],
    service: Annotated[DeviceService, Depends(get_service)],
    limit: PageSize = PAGE_SIZE_DEFAULT,
    cursor: PageCursor = None,
) -> HolderPage:
    items, next_cursor = service.holders("ip", ip, limit=limit, cursor=cursor)
    return HolderPage(items=[holder_interval(item) for item in items], next_cursor=next_cursor)


lambda_handler = entry(app)
