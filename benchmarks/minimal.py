"""The warm floor: each route as a hand-written handler doing the same parsing and validation
as ours (the same request guards, the same pydantic models and parsers, the same service),
minus any framework: no resolver, no Logger, no response validation beyond building the model."""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

from registry.domain.errors import RegistryError, ValidationFailed
from registry.domain.fleet import FleetFilter
from registry.domain.values import canonical_mac, canonical_uuid, parse_timestamp
from registry.domain.vocabulary import StatusValue
from registry.http.etags import etag
from registry.http.guard import guard
from registry.http.identity import caller
from registry.http.preconditions import expected_version
from registry.http.problems import error_proxy_response
from registry.http.routes import route_for
from registry.http.views import device_detail, device_status, device_summary, history_entry
from registry.schemas import DeviceAttributes, DevicePage, DevicePatch, HistoryPage, StatusUpdate
from registry.storage import keys
from registry.wiring import get_service

DOCUMENT = Path(__file__).resolve().parent.parent / "functions" / "registry" / "openapi.json"
Event = dict[str, Any]


def _answer(status: int, body: Any = None, **headers: str) -> dict[str, Any]:
    text = body.model_dump_json() if body is not None else ""
    return {"statusCode": status, "headers": {"Content-Type": "application/json", **headers}, "body": text}


def _device_id(event: Event) -> str:
    try:
        return canonical_uuid(event["pathParameters"]["device_id"])
    except ValueError as error:
        raise ValidationFailed(str(error)) from None


def _query(event: Event) -> dict[str, str]:
    return dict(event.get("queryStringParameters") or {})


def _limit(query: dict[str, str]) -> int:
    raw = query.get("limit", "50")
    if not raw.isdigit() or not 1 <= int(raw) <= 100:
        raise ValidationFailed("limit must be an integer from 1 to 100")
    return int(raw)


def _cursor(query: dict[str, str]) -> str | None:
    cursor = query.get("cursor")
    if cursor is not None and len(cursor) > 512:
        raise ValidationFailed("cursor is too long")
    return cursor


def _if_match(event: Event) -> str | None:
    return next((v for k, v in (event.get("headers") or {}).items() if k.lower() == "if-match"), None)


def create_device(event: Event) -> dict[str, Any]:
    state = get_service().register(DeviceAttributes.model_validate_json(event["body"]), caller(event))
    return _answer(201, device_detail(state), ETag=etag(state.config_version), Location=f"/devices/{state.id}")


def list_devices(event: Event) -> dict[str, Any]:
    query = _query(event)
    device_type = query.get("device_type")
    if device_type is not None and not 1 <= len(device_type.strip()) <= 64:
        raise ValidationFailed("device_type must have 1 to 64 characters")
    status = StatusValue(query["status"]).value if "status" in query else None
    mac = canonical_mac(query["mac_address"]) if "mac_address" in query else None
    items, next_cursor = get_service().list_devices(
        limit=_limit(query),
        cursor=_cursor(query),
        filters=FleetFilter(device_type=device_type, status=status, mac_address=mac),
    )
    return _answer(200, DevicePage(items=[device_summary(item) for item in items], next_cursor=next_cursor))


def get_device(event: Event) -> dict[str, Any]:
    state = get_service().get(_device_id(event))
    return _answer(200, device_detail(state), ETag=etag(state.config_version))


def update_device(event: Event) -> dict[str, Any]:
    patch = DevicePatch.model_validate_json(event["body"])
    state = get_service().update(
        _device_id(event), patch.changes(), expected=expected_version(_if_match(event)), principal=caller(event)
    )
    return _answer(200, device_detail(state), ETag=etag(state.config_version))


def delete_device(event: Event) -> dict[str, Any]:
    get_service().delete(_device_id(event), expected=expected_version(_if_match(event)), principal=caller(event))
    return _answer(204)


def get_status(event: Event) -> dict[str, Any]:
    state = get_service().get(_device_id(event))
    return _answer(200, device_status(state), ETag=etag(state.status_version))


def put_status(event: Event) -> dict[str, Any]:
    update = StatusUpdate.model_validate_json(event["body"])
    state = get_service().set_status(
        _device_id(event), update, expected=expected_version(_if_match(event)), principal=caller(event)
    )
    return _answer(200, device_status(state), ETag=etag(state.status_version))


def list_history(event: Event) -> dict[str, Any]:
    query = _query(event)
    kind = query.get("kind")
    order = query.get("order", "desc")
    if kind not in (None, "config", "status") or order not in ("asc", "desc"):
        raise ValidationFailed("kind must be config or status; order asc or desc")
    since = parse_timestamp(query["since"]) if "since" in query else None
    until = parse_timestamp(query["until"]) if "until" in query else None
    items, next_cursor = get_service().history(
        _device_id(event), kind=kind, since=since, until=until, order=order, limit=_limit(query), cursor=_cursor(query)
    )
    return _answer(200, HistoryPage(items=[history_entry(item) for item in items], next_cursor=next_cursor))


def get_history_entry(event: Event) -> dict[str, Any]:
    raw = event["pathParameters"]["revision"]
    if not raw.isdigit() or not 1 <= int(raw) <= keys.MAX_REVISION:
        raise ValidationFailed("revision must be a positive integer")
    return _answer(200, history_entry(get_service().history_entry(_device_id(event), int(raw))))


@cache
def _document() -> str:
    return DOCUMENT.read_text(encoding="utf-8")


def docs(event: Event) -> dict[str, Any]:
    if _query(event).get("format", "html") != "json":
        raise ValidationFailed("the minimal docs handler serves format=json only")
    return {"statusCode": 200, "headers": {"Content-Type": "application/json"}, "body": _document()}


ROUTES: dict[str, Callable[[Event], dict[str, Any]]] = {
    "create_device": create_device,
    "list_devices": list_devices,
    "get_device": get_device,
    "update_device": update_device,
    "delete_device": delete_device,
    "get_status": get_status,
    "put_status": put_status,
    "list_history": list_history,
    "get_history_entry": get_history_entry,
    "swagger": docs,
}


def handler(route_name: str) -> Callable[[Event, Any], dict[str, Any]]:
    route = ROUTES[route_name]
    known_query = route_for(route_name).query

    def lambda_handler(event: Event, context: Any) -> dict[str, Any]:
        try:
            return route(guard(event, known_query))
        except RegistryError as error:
            return error_proxy_response(error)
        except ValueError as error:  # pydantic's ValidationError and the parsers' errors
            return error_proxy_response(ValidationFailed(str(error)))

    return lambda_handler
