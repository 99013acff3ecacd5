"""Accepted findings of the template checkers, each on the construct it concerns and always
with its reason: cdk-nag acknowledgements and checkov skips. The full list, with what was
fixed instead, is in docs/decisions.md ("Template checks")."""

from __future__ import annotations

from typing import Any

from aws_cdk import Acknowledgment, CfnResource, Validations
from constructs import IConstruct

CHECKOV_METADATA = "checkov"

# Reasons that apply to every resource of a kind.
LOGS_WITHOUT_CMK = (
    "CloudWatch Logs encrypts every log group at rest with its own keys. A customer-managed "
    "key would add a key policy to keep right and a monthly cost per stage, to protect logs "
    "that hold no secrets and no request bodies (data tracing is off, handlers log no payloads; "
    "access logs hold request metadata). Reading them is already limited by IAM."
)


def acknowledge(scope: IConstruct, rule_id: str, reason: str) -> None:
    Validations.of(scope).acknowledge(Acknowledgment(id=rule_id, reason=reason))


def skip_checkov(scope: IConstruct, check_id: str, reason: str) -> None:
    """Skip a checkov check on one resource (``scope`` or its CloudFormation resource), with
    the reason checkov reports: ``Metadata: {checkov: {skip: [{id, comment}]}}``."""
    resource = scope if isinstance(scope, CfnResource) else scope.node.default_child
    if not isinstance(resource, CfnResource):
        raise TypeError(f"{scope.node.path} has no CloudFormation resource to carry a checkov skip")
    if not reason.strip():
        raise ValueError(f"a checkov skip of {check_id} needs its reason")
    metadata: dict[str, Any] = resource.get_metadata(CHECKOV_METADATA) or {"skip": []}
    skips = [skip for skip in metadata["skip"] if skip["id"] != check_id]
    resource.add_metadata(CHECKOV_METADATA, {"skip": [*skips, {"id": check_id, "comment": reason}]})
