"""GET /mac-addresses/{mac}/holders — every device that held a MAC address, and when."""

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
from registry.schemas import PAGE_SIZE_DEFAULT, HolderPage, MacAddress
from registry.wiring import get_service

app = RouteApp("list_mac_holders")


@app.operation(
    summary="List the devices that held a MAC address",
    description=(
        "Every interval during which a device held this MAC address, newest first, deleted devices included: "
        "`until` is null while the device still holds it. The address may be given in any accepted spelling."
    ),
    responses={200: {"description": "A page of holder intervals"}, **errors(400, 422)},
    tags=["history"],
)
def list_mac_holders(
    # A client may percent-encode the separators (":" → %3A): no MAC spelling holds a "%".
    mac: Annotated[
        MacAddress,
        BeforeValidator(unquote),
        Path(description="MAC address, any accepted spelling", examples=["00-1A-2B-3C-4D-5E"]),
    ],
    service: Annotated[DeviceService, Depends(get_service)],
    limit: PageSize = PAGE_SIZE_DEFAULT,
    cursor: PageCursor = None,
) -> HolderPage:
    items, next_cursor = service.holders("mac", mac, limit=limit, cursor=cursor)
    return HolderPage(items=[holder_interval(item) for item in items], next_cursor=next_cursor)


lambda_handler = entry(app)
