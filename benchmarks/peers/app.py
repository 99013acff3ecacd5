"""Each route as a FastAPI app behind Mangum (one route per app, as one function per route).

It shares our domain (service, store, models, the same boto3 client), so the comparison is the
web stack alone: FastAPI + Mangum against the Powertools resolver. It does not copy our request
guards or problem details beyond what FastAPI does by default: it is the stack a user would pick,
written the way its documentation shows."""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import Depends, FastAPI, Header, Query, Request, Response
from fastapi.responses import JSONResponse
from mangum import Mangum
from pydantic import AfterValidator

from registry.devices.service import DeviceService
from registry.domain.errors import RegistryError
from registry.domain.fleet import FleetFilter
from registry.domain.records import Device, HistoryRecord
from registry.domain.values import parse_timestamp
from registry.domain.vocabulary import StatusValue
from registry.http.preconditions import expected_version
from registry.schemas import (
    DeviceAttributes,
    DeviceDetail,
    DeviceId,
    DevicePage,
    DevicePatch,
    DeviceStatus,
    DeviceSummary,
    DeviceType,
    HistoryEntry,
    HistoryKindFilter,
    HistoryPage,
    MacAddress,
    Order,
    StatusUpdate,
)
from registry.wiring import get_service

DOCUMENT = Path(__file__).resolve().parents[2] / "functions" / "registry" / "openapi.json"
Service = Annotated[DeviceService, Depends(get_service)]
IfMatch = Annotated[str | None, Header()]
QueryTimestamp = Annotated[str, AfterValidator(parse_timestamp)]


def _principal(request: Request) -> str:
    claims = (request.scope["aws.event"].get("requestContext") or {}).get("authorizer", {}).get("claims") or {}
    return str(claims.get("sub") or "anonymous")


# The response shaping of registry.http.views, restated: that module imports Powertools, which the
# peer must not load (its cold start would pay for both stacks).
def _detail(device: Device, response: Response) -> DeviceDetail:
    response.headers["ETag"] = f'"{device.config_version}"'
    return DeviceDetail.model_validate(
        {
            "id": device.id,
            **device.config(),
            "config_version": device.config_version,
            "created_at": device.created_at,
            "updated_at": device.updated_at,
        }
    )


def _status(device: Device, response: Response) -> DeviceStatus:
    response.headers["ETag"] = f'"{device.status_version}"'
    return DeviceStatus(
        device_id=device.id,
        status=StatusValue(device.status),
        reason=device.reason,
        version=device.status_version,
        updated_at=device.status_updated_at,
    )


def _entry(entry: HistoryRecord) -> HistoryEntry:
    return HistoryEntry.model_validate(entry.to_item())


def create_device(device: DeviceAttributes, request: Request, response: Response, service: Service) -> DeviceDetail:
    state = service.register(device, _principal(request))
    response.headers["Location"] = f"/devices/{state.id}"
    return _detail(state, response)


def list_devices(
    service: Service,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
    device_type: Annotated[DeviceType | None, Query()] = None,
    status: Annotated[StatusValue | None, Query()] = None,
    mac_address: Annotated[MacAddress | None, Query()] = None,
) -> DevicePage:
    items, next_cursor = service.list_devices(
        limit=limit,
        cursor=cursor,
        filters=FleetFilter(device_type=device_type, status=status.value if status else None, mac_address=mac_address),
    )
    summaries = [DeviceSummary.model_validate(item.to_item()) for item in items]
    return DevicePage(items=summaries, next_cursor=next_cursor)


def get_device(device_id: DeviceId, response: Response, service: Service) -> DeviceDetail:
    return _detail(service.get(device_id), response)


def update_device(
    device_id: DeviceId,
    patch: DevicePatch,
    request: Request,
    response: Response,
    service: Service,
    if_match: IfMatch = None,
) -> DeviceDetail:
    state = service.update(
        device_id, patch.changes(), expected=expected_version(if_match), principal=_principal(request)
    )
    return _detail(state, response)


def delete_device(device_id: DeviceId, request: Request, service: Service, if_match: IfMatch = None) -> Response:
    service.delete(device_id, expected=expected_version(if_match), principal=_principal(request))
    return Response(status_code=204)


def get_status(device_id: DeviceId, response: Response, service: Service) -> DeviceStatus:
    return _status(service.get(device_id), response)


def put_status(
    device_id: DeviceId,
    update: StatusUpdate,
    request: Request,
    response: Response,
    service: Service,
    if_match: IfMatch = None,
) -> DeviceStatus:
    state = service.set_status(device_id, update, expected=expected_version(if_match), principal=_principal(request))
    return _status(state, response)


def list_history(
    device_id: DeviceId,
    service: Service,
    kind: Annotated[HistoryKindFilter | None, Query()] = None,
    since: Annotated[QueryTimestamp | None, Query()] = None,
    until: Annotated[QueryTimestamp | None, Query()] = None,
    order: Annotated[Order, Query()] = "desc",
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
) -> HistoryPage:
    items, next_cursor = service.history(
        device_id, kind=kind, since=since, until=until, order=order, limit=limit, cursor=cursor
    )
    return HistoryPage(items=[_entry(item) for item in items], next_cursor=next_cursor)


def get_history_entry(device_id: DeviceId, revision: int, service: Service) -> HistoryEntry:
    return _entry(service.history_entry(device_id, revision))


@cache
def _document() -> str:
    return DOCUMENT.read_text(encoding="utf-8")


def docs(format: Annotated[Literal["html", "json"], Query()] = "html") -> Response:
    from fastapi.openapi.docs import get_swagger_ui_html

    if format == "json":
        return Response(_document(), media_type="application/json")
    return get_swagger_ui_html(openapi_url="/swagger?format=json", title="Device Registry API")


ROUTES: dict[str, tuple[str, str, Callable[..., Any], int]] = {
    "create_device": ("POST", "/devices", create_device, 201),
    "list_devices": ("GET", "/devices", list_devices, 200),
    "get_device": ("GET", "/devices/{device_id}", get_device, 200),
    "update_device": ("PATCH", "/devices/{device_id}", update_device, 200),
    "delete_device": ("DELETE", "/devices/{device_id}", delete_device, 204),
    "get_status": ("GET", "/devices/{device_id}/status", get_status, 200),
    "put_status": ("PUT", "/devices/{device_id}/status", put_status, 200),
    "list_history": ("GET", "/devices/{device_id}/history", list_history, 200),
    "get_history_entry": ("GET", "/devices/{device_id}/history/{revision}", get_history_entry, 200),
    "swagger": ("GET", "/swagger", docs, 200),
}


def _problem(_: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, RegistryError)
    body = {"type": error.slug, "title": error.title, "status": error.status, "detail": error.detail}
    return JSONResponse(body, status_code=error.status, media_type="application/problem+json")


def handler(route_name: str) -> Mangum:
    """The Lambda handler of one route's function."""
    method, path, endpoint, status = ROUTES[route_name]
    app = FastAPI(title="Device Registry API (FastAPI peer)", docs_url=None, redoc_url=None, openapi_url=None)
    app.add_api_route(path, endpoint, methods=[method], status_code=status)
    app.add_exception_handler(RegistryError, _problem)
    return Mangum(app, lifespan="off")
