"""GET /devices/{device_id}/diff — what differs between the states in force at two revisions."""

from typing import Annotated

from aws_lambda_powertools.event_handler import Depends
from aws_lambda_powertools.event_handler.openapi.params import Query

from registry.devices.service import DeviceService
from registry.http.app import RouteApp
from registry.http.lambda_entry import entry
from registry.http.operation_docs import errors
from registry.http.params import DeviceIdPath, RevisionOrZero
from registry.http.views import device_diff
from registry.schemas import DeviceDiff
from registry.wiring import get_service

app = RouteApp("diff_device")

# 0 and revisions past the latest are well formed: they answer 404 naming the latest revision.


@app.operation(
    summary="Compare two revisions of a device",
    description=(
        "Field by field, what differs between the device's whole state (attributes key by key, tags, status, "
        "reason) in force at revision `from` and at revision `to`, either way round; deleted devices included. "
        "A revision the device does not have answers 404 naming its latest revision."
    ),
    responses={200: {"description": "The differences"}, **errors(404, 422)},
    tags=["history"],
)
def diff_device(
    device_id: DeviceIdPath,
    service: Annotated[DeviceService, Depends(get_service)],
    from_revision: Annotated[RevisionOrZero, Query(alias="from", description="The revision compared from")],
    to_revision: Annotated[
        RevisionOrZero | None,
        Query(alias="to", description="The revision compared to; the latest if absent"),
    ] = None,
) -> DeviceDiff:
    return device_diff(device_id, *service.diff_revisions(device_id, from_revision, to_revision))


lambda_handler = entry(app)
