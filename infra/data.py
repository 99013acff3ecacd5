"""The DynamoDB tables, built from ``registry.storage.keys``: the one definition the store, the
local server and the tests also read, so the deployed keys and indexes cannot drift."""

from __future__ import annotations

from typing import Any

from aws_cdk import aws_dynamodb as dynamodb
from constructs import Construct

from infra.nag import skip_checkov
from infra.stage import StageConfig
from registry.storage import keys as schema


def _string(name: str) -> dynamodb.Attribute:
    return dynamodb.Attribute(name=name, type=dynamodb.AttributeType.STRING)


def _projection(index: schema.Index) -> dict[str, Any]:
    if index.projection is None:
        return {"projection_type": dynamodb.ProjectionType.ALL}
    if not index.projection:
        return {"projection_type": dynamodb.ProjectionType.KEYS_ONLY}
    return {
        "projection_type": dynamodb.ProjectionType.INCLUDE,
        "non_key_attributes": list(index.projection),
    }


# CloudFormation creates at most one global index per update of a table: a stack deployed before
# the fleet-query lookup indexes gets them one deployment at a time (docs/deployment.md,
# "Adding indexes to a deployed table"): `-c lookup_indexes=1`, then 2, … until all are there.
LOOKUP_INDEXES_CONTEXT_KEY = "lookup_indexes"


def _deployed_indexes(scope: Construct) -> tuple[schema.Index, ...]:
    """Every global index, or only the first ``lookup_indexes`` of the lookup indexes."""
    wanted = scope.node.try_get_context(LOOKUP_INDEXES_CONTEXT_KEY)
    if wanted is None:
        return schema.GLOBAL_INDEXES
    count = int(wanted)
    if not 0 <= count <= len(schema.LOOKUP_INDEXES):
        raise ValueError(f"-c {LOOKUP_INDEXES_CONTEXT_KEY}= takes 0 to {len(schema.LOOKUP_INDEXES)}, got {count}")
    kept = set(schema.LOOKUP_INDEXES[:count])
    return tuple(i for i in schema.GLOBAL_INDEXES if i.name not in schema.LOOKUP_INDEXES or i.name in kept)


class Data(Construct):
    """The device table and the Powertools idempotency table."""

    def __init__(self, scope: Construct, construct_id: str, *, stage: StageConfig) -> None:
        super().__init__(scope, construct_id)
        common: dict[str, Any] = {
            "billing_mode": dynamodb.BillingMode.PAY_PER_REQUEST,
            # AWS-managed KMS key (aws/dynamodb): encrypted at rest, auditable in CloudTrail,
            # no key policy of ours to get wrong.
            "encryption": dynamodb.TableEncryption.AWS_MANAGED,
            "point_in_time_recovery_specification": dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            "deletion_protection": stage.deletion_protection,
            "removal_policy": stage.removal_policy,
        }

        self.table = dynamodb.Table(
            self,
            "Devices",
            partition_key=_string(schema.PK),
            sort_key=_string(schema.SK),
            time_to_live_attribute=schema.TTL_ATTRIBUTE,
            # Every version written, with before and after, for change events later.
            stream=dynamodb.StreamViewType.NEW_AND_OLD_IMAGES,
            **common,
        )
        for index in schema.LOCAL_INDEXES:
            self.table.add_local_secondary_index(
                index_name=index.name, sort_key=_string(index.sort_key), **_projection(index)
            )
        for index in _deployed_indexes(self):
            self.table.add_global_secondary_index(
                index_name=index.name,
                partition_key=_string(index.partition_key),
                sort_key=_string(index.sort_key),
                **_projection(index),
            )

        # Powertools idempotency records: their own table, so they never share partitions
        # (or a key schema) with devices; DynamoDB deletes them once expired.
        self.idempotency_table = dynamodb.Table(
            self,
            "Idempotency",
            partition_key=_string(schema.IDEMPOTENCY_PK),
            time_to_live_attribute=schema.IDEMPOTENCY_TTL,
            **common,
        )
        for table in (self.table, self.idempotency_table):
            skip_checkov(
                table,
                "CKV_AWS_119",
                "Encrypted at rest with the AWS-managed key aws/dynamodb (every use logged in CloudTrail). "
                "A customer-managed key would add a key policy to get right and a cost per key and request, "
                "for control this single-account stack does not use (cross-account grants, key deletion).",
            )
