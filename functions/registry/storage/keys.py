"""The table's key schema and indexes: the one definition the store, the local server,
the CDK stack and the tests all read, so none of them can drift from the others.

Items of one device live under ``pk = DEVICE#<id>``:

* ``sk = STATE``: the current attributes and status, the revision counter and, while the
  device is live, the attributes that place it in the list indexes (sparse GSIs);
* ``sk = REV#<12 digits>``: one immutable history entry per revision, carrying the two
  local-index sort keys used by the history filters.
* ``sk = TAG#<tag>``: one per tag of a live device, placing it in the ``list_by_tag`` index.

A MAC claim item ``pk = MAC#<mac>, sk = CLAIM`` makes MAC addresses unique: it is written
in the same transaction as the device.

Holder intervals answer "which device held this address, and when": one item per (address,
device, interval) under ``pk = MACHOLDER#<mac>`` or ``IPHOLDER#<ip>``, ``sk = <from>#<revision>#<id>``
(``from``: when the interval opened, ``revision``: the device's revision that opened it), so a
Query newest first pages through an address's holders. They are written in the transaction of
the change that moves the address; the device's item keeps the ``from`` and ``revision`` of its
open intervals, so closing one knows its key.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass

from registry.domain.vocabulary import MAX_REVISION

PK = "pk"
SK = "sk"
TTL_ATTRIBUTE = "expires_at"

STATE_SK = "STATE"
CLAIM_SK = "CLAIM"
DEVICE_PREFIX = "DEVICE#"
MAC_PREFIX = "MAC#"
REVISION_PREFIX = "REV#"
REVISION_DIGITS = len(str(MAX_REVISION))  # the sort key holds every revision the domain allows

# Local secondary indexes over history entries (strongly consistent, same partition).
HISTORY_BY_TIME = "history_by_time"  # sort key "<at>#<revision>"
HISTORY_BY_KIND = "history_by_kind"  # sort key "<config|status>#<at>#<revision>"
HISTORY_AT = "h_at"
HISTORY_KIND_AT = "h_kind_at"

# Sparse global secondary indexes over live devices: one per list filter, sorted by id.
LIST_SORT = "device_id"
LIST_ALL = "list_all"
LIST_BY_TYPE = "list_by_type"
LIST_BY_STATUS = "list_by_status"
LIST_BY_TYPE_STATUS = "list_by_type_status"
LIST_BY_MAC = "list_by_mac"
# Summary fields copied into every list index, so a page is one Query.
LIST_PROJECTION = ("id", "name", "device_type", "mac_address", "status")
LIST_ALL_VALUE = "DEVICE"  # the one partition of the list_all index: every live device

# Lookup indexes (fleet queries, docs/decisions.md): sparse, KEYS_ONLY, sorted by id. They hold
# neither status nor any summary field, so a status change (most writes) writes nothing to them
# and a change of one attribute writes only that attribute's index; a page reads their keys and
# then the devices' items (one BatchGetItem). One index per single-valued attribute, on the
# device's STATE item, partitioned by the attribute's value:
LIST_BY_FIRMWARE = "list_by_firmware"
LIST_BY_LOCATION = "list_by_location"
LIST_BY_SERIAL = "list_by_serial"
LIST_BY_IP = "list_by_ip"
LOOKUP_ATTRIBUTES = {
    "firmware_version": LIST_BY_FIRMWARE,
    "location": LIST_BY_LOCATION,
    "serial_number": LIST_BY_SERIAL,
    "ip_address": LIST_BY_IP,
}
# name_prefix: one index per prefix length, partitioned by the name's first n characters (a name
# shorter than n is not in it). A prefix of one of these lengths is an exact lookup; another is
# served by the longest level shorter than it, the rest compared on the items read.
NAME_PREFIX_LEVELS = (1, 2, 4, 8)
# tag: a device has up to 20, an item can have one index key: one small item per (device, tag) in
# the device's own partition (``sk = TAG#<tag>``), written when the tag set changes.
LIST_BY_TAG = "list_by_tag"
TAG_PREFIX = "TAG#"


# Liveness (registry/domain/liveness.py): a device's sign-of-life item ``sk = SEEN`` in its own
# partition holds last_seen_at, its liveness and its deadline, so that a report's refresh writes a
# ~150-byte item and never the device's state. Two sparse KEYS_ONLY indexes over it:
# ``list_by_liveness`` (partition: the liveness value, sorted by id) serves ``GET /devices?liveness=``;
# ``due_by_deadline`` (partition ``DUE#<shard>``, sort ``<deadline>#<id>``) lets the sweep Query
# each shard for the deadlines passed, reading only the devices due. A silent device has no
# deadline, so it leaves that index. Shards spread a refresh's index write (docs/capacity.md).
SEEN_SK = "SEEN"
LIST_BY_LIVENESS = "list_by_liveness"
DUE_BY_DEADLINE = "due_by_deadline"
DUE_AT = "due_at"
DUE_PREFIX = "DUE#"
DUE_SHARDS = 64


def seen_key(device_id: str) -> dict[str, str]:
    """A device's sign-of-life item."""
    return {PK: device_pk(device_id), SK: SEEN_SK}


def due_shard(device_id: str) -> str:
    """The ``due_by_deadline`` partition of a device: a stable hash of its id."""
    digest = hashlib.sha256(device_id.encode()).digest()
    return f"{DUE_PREFIX}{int.from_bytes(digest[:4], 'big') % DUE_SHARDS:02d}"


def due_shards() -> list[str]:
    return [f"{DUE_PREFIX}{shard:02d}" for shard in range(DUE_SHARDS)]


def due_at(deadline: str, device_id: str) -> str:
    """The ``due_by_deadline`` sort key: ``<deadline>#<id>``, oldest deadline first."""
    return f"{deadline}#{device_id}"


def due_until(now: str) -> str:
    """The greatest sort key of a deadline at or before ``now`` (``~`` sorts after every id)."""
    return f"{now}#~"


def name_prefix_index(length: int) -> str:
    return f"list_by_name{length}"


def lookup_attributes(values: Mapping[str, object]) -> dict[str, str]:
    """The lookup index keys of a live device's STATE item, from its attributes (an empty value
    is no key: DynamoDB refuses empty index keys, and no filter asks for one)."""
    keys = {index: str(values[field]) for field, index in LOOKUP_ATTRIBUTES.items() if values.get(field)}
    name = str(values.get("name") or "")
    keys.update({name_prefix_index(n): name[:n] for n in NAME_PREFIX_LEVELS if len(name) >= n})
    return keys


def tag_key(device_id: str, tag: str) -> dict[str, str]:
    """The item that places a device under one tag in ``list_by_tag``."""
    return {PK: device_pk(device_id), SK: f"{TAG_PREFIX}{tag}"}


# -- key formats: every key and index key value is built here and nowhere else ------------


def device_pk(device_id: str) -> str:
    return f"{DEVICE_PREFIX}{device_id}"


def device_key(device_id: str) -> dict[str, str]:
    """The device's current item (``STATE``)."""
    return {PK: device_pk(device_id), SK: STATE_SK}


def revision_number(revision: int) -> str:
    """A revision zero-padded to sort as text: ``42`` → ``000000000042``."""
    return f"{revision:0{REVISION_DIGITS}d}"


def revision_sk(revision: int) -> str:
    return f"{REVISION_PREFIX}{revision_number(revision)}"


def revision_key(device_id: str, revision: int) -> dict[str, str]:
    """One history entry's item."""
    return {PK: device_pk(device_id), SK: revision_sk(revision)}


def mac_claim_key(mac: str) -> dict[str, str]:
    """The item that makes a (canonical) MAC address unique."""
    return {PK: f"{MAC_PREFIX}{mac}", SK: CLAIM_SK}


HOLDER_PREFIXES = {"mac": "MACHOLDER#", "ip": "IPHOLDER#"}  # by address kind
ADDRESS_KINDS = tuple(HOLDER_PREFIXES)


def holder_pk(kind: str, address: str) -> str:
    """The partition of one (canonical) address's holder intervals: ``MACHOLDER#<mac>``."""
    return f"{HOLDER_PREFIXES[kind]}{address}"


def holder_sk(since: str, revision: int, device_id: str) -> str:
    """``<from>#<revision>#<device id>``: newest interval first in a descending Query; the
    revision keeps two intervals of one device opened in the same millisecond apart."""
    return f"{since}#{revision_number(revision)}#{device_id}"


def holder_key(kind: str, address: str, since: str, revision: int, device_id: str) -> dict[str, str]:
    """One holder interval's item."""
    return {PK: holder_pk(kind, address), SK: holder_sk(since, revision, device_id)}


STATUS_GROUP, CONFIG_GROUP, LIVENESS_GROUP = "status", "config", "liveness"


def history_group(kind: str) -> str:
    """History filters know three groups: ``status``, ``liveness``, and ``config`` for every other
    kind (created, config, deleted, restored)."""
    return kind if kind in (STATUS_GROUP, LIVENESS_GROUP) else CONFIG_GROUP


def history_at_key(at: str, revision: int) -> str:
    """The ``history_by_time`` sort key: ``<at>#<revision>``."""
    return f"{at}#{revision_number(revision)}"


def history_kind_key(group: str, at: str, revision: int | None = None) -> str:
    """The ``history_by_kind`` sort key ``<group>#<at>#<revision>``; without a revision, the
    prefix that bounds a range query (``<group>#<at>``)."""
    return f"{group}#{at}" if revision is None else f"{group}#{history_at_key(at, revision)}"


def type_status_key(device_type: str, status: str) -> str:
    """The ``list_by_type_status`` partition value."""
    return f"{device_type}#{status}"


@dataclass(frozen=True)
class Index:
    name: str
    partition_key: str
    sort_key: str
    local: bool = False
    projection: tuple[str, ...] | None = None  # None: ALL attributes; (): KEYS_ONLY


LOCAL_INDEXES = (
    Index(HISTORY_BY_TIME, PK, HISTORY_AT, local=True),
    Index(HISTORY_BY_KIND, PK, HISTORY_KIND_AT, local=True),
)

LOOKUP_INDEXES = (
    *LOOKUP_ATTRIBUTES.values(),
    *(name_prefix_index(n) for n in NAME_PREFIX_LEVELS),
    LIST_BY_TAG,
    LIST_BY_LIVENESS,
)
# The sweep's index is deployed with the summary indexes; list_by_liveness is the last lookup index,
# so a stack deployed before liveness gets them one deployment each (docs/deployment.md).
GLOBAL_INDEXES = (
    *(
        Index(name, name, LIST_SORT, projection=LIST_PROJECTION)
        for name in (LIST_ALL, LIST_BY_TYPE, LIST_BY_STATUS, LIST_BY_TYPE_STATUS, LIST_BY_MAC)
    ),
    Index(DUE_BY_DEADLINE, DUE_BY_DEADLINE, DUE_AT, projection=()),
    *(Index(name, name, LIST_SORT, projection=()) for name in LOOKUP_INDEXES),
)

INDEXES = LOCAL_INDEXES + GLOBAL_INDEXES


def string_attributes() -> list[str]:
    """Every attribute used as a key by the table or an index (all are strings)."""
    names = [PK, SK]
    for index in INDEXES:
        for name in (index.partition_key, index.sort_key):
            if name not in names:
                names.append(name)
    return names


def _projection(index: Index) -> dict[str, object]:
    if index.projection is None:
        return {"ProjectionType": "ALL"}
    if not index.projection:
        return {"ProjectionType": "KEYS_ONLY"}
    return {"ProjectionType": "INCLUDE", "NonKeyAttributes": list(index.projection)}


def create_table_request(table_name: str) -> dict[str, object]:
    """A ``CreateTable`` request (on-demand) for moto, DynamoDB-compatible endpoints and tests."""
    return {
        "TableName": table_name,
        "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": [{"AttributeName": name, "AttributeType": "S"} for name in string_attributes()],
        "KeySchema": [
            {"AttributeName": PK, "KeyType": "HASH"},
            {"AttributeName": SK, "KeyType": "RANGE"},
        ],
        "LocalSecondaryIndexes": [
            {
                "IndexName": index.name,
                "KeySchema": [
                    {"AttributeName": index.partition_key, "KeyType": "HASH"},
                    {"AttributeName": index.sort_key, "KeyType": "RANGE"},
                ],
                "Projection": _projection(index),
            }
            for index in LOCAL_INDEXES
        ],
        "GlobalSecondaryIndexes": [
            {
                "IndexName": index.name,
                "KeySchema": [
                    {"AttributeName": index.partition_key, "KeyType": "HASH"},
                    {"AttributeName": index.sort_key, "KeyType": "RANGE"},
                ],
                "Projection": _projection(index),
            }
            for index in GLOBAL_INDEXES
        ],
    }


# The Powertools idempotency utility keeps its records in a table of its own (pk "id",
# TTL "expiration"), so its keys never share partitions with devices.
IDEMPOTENCY_PK = "id"
IDEMPOTENCY_TTL = "expiration"


def create_idempotency_table_request(table_name: str) -> dict[str, object]:
    return {
        "TableName": table_name,
        "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": [{"AttributeName": IDEMPOTENCY_PK, "AttributeType": "S"}],
        "KeySchema": [{"AttributeName": IDEMPOTENCY_PK, "KeyType": "HASH"}],
    }


# Schema migrations (registry/migrations) record what ran in a ledger: one item per migration,
# all in one partition, so that one Query lists them. Devices never use this partition.
MIGRATIONS_PK = "MIGRATIONS"
MIGRATION_DIGITS = 4


def migration_key(number: int) -> dict[str, str]:
    """The ledger item of migration ``number``: ``pk = MIGRATIONS, sk = 0001``."""
    return {PK: MIGRATIONS_PK, SK: f"{number:0{MIGRATION_DIGITS}d}"}


# Fleet statistics (registry/stream/stats.py): counters maintained by the stream consumer. Each counter
# shard is one item in a partition of its own (``pk = STATS#<nn>``): the table has local indexes,
# so one partition key's items can never be split, and separate keys spread the counter writes
# over partitions (docs/capacity.md). One BatchGetItem of the STATS_SHARDS keys reads them all.
# A counter is an attribute of the shard item named ``<code>:<value>`` (``s:online``, ``n:`` for the
# total): short names keep a shard item, and so each update's write units, small.
STATS_PREFIX = "STATS#"
STATS_SK = "COUNTS"
STATS_SHARDS = 10
STATS_BATCH_PREFIX = "STATSBATCH#"
STATS_BATCH_SK = "APPLIED"
# A batch can be redelivered only while its records are in the stream (24 h): its markers outlive that.
STATS_BATCH_TTL_SECONDS = 25 * 3600
STATS_CODES = {"total": "n", "status": "s", "device_type": "t", "firmware_version": "f", "liveness": "l"}


def stats_shard_key(shard: int) -> dict[str, str]:
    """One counter shard's item."""
    return {PK: f"{STATS_PREFIX}{shard:02d}", SK: STATS_SK}


def stats_attribute(dimension: str, value: str) -> str:
    """The counter attribute of a bucket: ``s:online`` (status), ``n:`` (the total)."""
    return f"{STATS_CODES[dimension]}:{value}"


def stats_other_attribute(dimension: str) -> str:
    """The counter of a dimension's devices whose value a full shard does not name (``f#``):
    ``#`` is no bucket's separator, so no value can collide with it."""
    return f"{STATS_CODES[dimension]}#"


# Statistics a stream batch could not apply (DynamoDB refused them): one partition of small items,
# ``pk = STATSDEFERRED, sk = <batch digest>``, applied and deleted by the next batch.
STATS_DEFERRED_PK = "STATSDEFERRED"


def stats_deferred_key(batch_digest: str) -> dict[str, str]:
    return {PK: STATS_DEFERRED_PK, SK: batch_digest}


def stats_batch_key(batch_digest: str, chunk: int) -> dict[str, str]:
    """The marker that a batch's chunk was counted (a digest of the batch id, so keys are short)."""
    return {PK: f"{STATS_BATCH_PREFIX}{batch_digest}#{chunk}", SK: STATS_BATCH_SK}


# Device credentials (registry/domain/credentials.py): each credential is an item in a partition of its
# own, ``pk = CREDENTIAL#<credential id>, sk = SECRET``, holding its device id and the salted hash
# of its secret, so that the device authorizer reads one item by the id a device sends, and its
# role can be confined to these partitions (IAM ``dynamodb:LeadingKeys`` = ``CREDENTIAL#*``). The
# device's partition holds ``sk = CREDENTIALS``, the set of its active credential ids: the one
# item a creation's limit condition, a listing and a device deletion's revocation read.
CREDENTIAL_PREFIX = "CREDENTIAL#"
CREDENTIAL_SK = "SECRET"
DEVICE_CREDENTIALS_SK = "CREDENTIALS"


def credential_key(credential_id: str) -> dict[str, str]:
    """One credential's item (what the authorizer reads)."""
    return {PK: f"{CREDENTIAL_PREFIX}{credential_id}", SK: CREDENTIAL_SK}


def device_credentials_key(device_id: str) -> dict[str, str]:
    """The set of a device's active credential ids, in the device's partition."""
    return {PK: device_pk(device_id), SK: DEVICE_CREDENTIALS_SK}


# Fleet jobs (registry/jobs/, docs/jobs.md). Every job's item in one partition, ``pk = JOBS,
# sk = <job id>``: ids are time-ordered (UUID v7), so one Query newest first lists the jobs, with no
# index of their own. A job's work in a partition of its own, ``pk = JOB#<id>``: ``sk = PAGE#<7 digits>``
# the pages of the devices it acts on (stored when it starts), ``sk = RESULT#<device id>`` what it did
# to each device — written in the transaction of the device's revision, so that it is written once.
JOBS_PK = "JOBS"
JOB_PREFIX = "JOB#"
JOB_PAGE_PREFIX = "PAGE#"
JOB_PAGE_DIGITS = 7
JOB_RESULT_PREFIX = "RESULT#"


def job_key(job_id: str) -> dict[str, str]:
    """A job's item."""
    return {PK: JOBS_PK, SK: job_id}


def job_pk(job_id: str) -> str:
    return f"{JOB_PREFIX}{job_id}"


def job_page_key(job_id: str, page: int) -> dict[str, str]:
    """One stored page of the devices a job acts on."""
    return {PK: job_pk(job_id), SK: f"{JOB_PAGE_PREFIX}{page:0{JOB_PAGE_DIGITS}d}"}


def job_result_key(job_id: str, device_id: str) -> dict[str, str]:
    """What a job did to one device."""
    return {PK: job_pk(job_id), SK: f"{JOB_RESULT_PREFIX}{device_id}"}
