"""Lambda concurrency: no route can take the account's whole concurrency, and what the stages
reserve still deploys into a default account."""

from __future__ import annotations

from typing import Any

import pytest

from infra.app import build_app
from infra.stage import STAGES, stage_config
from registry.http.routes import ROUTES, Route
from tests.infra.conftest import Synthesized

# A default account, per region (written out here, not imported from the stack): 1,000
# concurrent executions, of which Lambda refuses to let reservations take the last 100.
ACCOUNT_CONCURRENCY = 1_000
UNRESERVED_MINIMUM = 100


def _reserved(template: dict[str, Any]) -> dict[str, int | None]:
    return {
        route.handler: template["Resources"][route.function_id]["Properties"].get("ReservedConcurrentExecutions")
        for route in ROUTES
    }


def test_every_prod_function_has_a_reserved_concurrency_of_its_own(prod: dict[str, Any]) -> None:
    reserved = _reserved(prod)

    assert all(isinstance(n, int) and n > 0 for n in reserved.values()), reserved
    assert (reserved["swagger"] or 0) < min(n or 0 for handler, n in reserved.items() if handler != "swagger")


def test_dev_reserves_nothing_so_it_deploys_into_any_account(dev: dict[str, Any]) -> None:
    assert set(_reserved(dev).values()) == {None}


def test_both_stages_together_leave_lambdas_unreserved_minimum_in_a_default_account(
    synthesized: Synthesized,
) -> None:
    """dev and prod may share an account; what else runs there (CDK's custom-resource provider
    during a deployment, other workloads) uses the unreserved rest."""
    total = sum(n or 0 for stage in STAGES for n in _reserved(synthesized.json(stage)).values())

    assert total <= ACCOUNT_CONCURRENCY - UNRESERVED_MINIMUM


@pytest.mark.parametrize("route", [pytest.param(r, id=r.handler) for r in ROUTES if r.is_write])
def test_a_burst_of_writes_is_throttled_by_api_gateway_before_lambda_would(prod: dict[str, Any], route: Route) -> None:
    """API Gateway answers 429 with Retry-After; a Lambda throttle would reach the client as a 5xx."""
    stage = next(r for r in prod["Resources"].values() if r["Type"] == "AWS::ApiGateway::Stage")["Properties"]
    resource_path = "/" + route.path.replace("/", "~1")
    setting = next(
        s for s in stage["MethodSettings"] if s["ResourcePath"] == resource_path and s["HttpMethod"] == route.method
    )
    reserved = prod["Resources"][route.function_id]["Properties"]["ReservedConcurrentExecutions"]

    assert setting["ThrottlingBurstLimit"] <= reserved


def test_prod_leaves_most_of_a_default_account_unreserved_for_what_comes_next() -> None:
    """Another reservation in the account, or the next routes, must still fit: prod takes under half."""
    prod = STAGES["prod"].reserved_concurrency

    assert prod is not None and prod.total <= ACCOUNT_CONCURRENCY // 2


def test_a_quota_too_low_for_the_reservations_is_refused_at_synth_naming_the_settings() -> None:
    """A new account's quota can be far below 1,000; Lambda would refuse the reservations mid-deploy."""
    reserved = STAGES["prod"].reserved_concurrency
    assert reserved is not None
    quota = reserved.total + UNRESERVED_MINIMUM - 1

    with pytest.raises(ValueError, match=r"-c reserved_concurrency=off.*-c account_concurrency=N"):
        build_app({"stage": "prod", "account_concurrency": str(quota)}, nag=False)
    stage_config("prod", {"account_concurrency": str(quota + 1)}.get)  # exactly Lambda's minimum left


def test_reservations_can_be_turned_off_for_an_account_that_cannot_take_them() -> None:
    stage = stage_config("prod", {"reserved_concurrency": "off", "account_concurrency": "50"}.get)

    assert stage.reserved_concurrency is None
    with pytest.raises(ValueError, match="say on or off"):
        stage_config("prod", {"reserved_concurrency": "no"}.get)
