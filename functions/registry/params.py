"""Path parameters shared by the route handlers (Powertools ``Path`` carries their docs)."""

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Path

from registry.models import DeviceId

DeviceIdPath = Annotated[
    DeviceId,
    Path(description="Device id (UUID)", examples=["0190f5e2-7a3b-7c1d-9e2f-3a4b5c6d7e8f"]),
]
