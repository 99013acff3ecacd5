"""The device table's store: the only DynamoDB code on a request path besides the credentials'.

It takes and returns typed records (``registry.domain.records``; no attribute-value JSON leaves
it), builds every key with ``registry.storage.keys``, writes every change as one conditional
transaction, and turns DynamoDB failures into domain errors. It answers what is stored,
tombstones included: what a deleted device means to a client is the service's rule.

One class for the service to hold, made of one part per job:

* :class:`~registry.storage.device_reads.DeviceReads`: a device, its history, address holders;
* :class:`~registry.storage.fleet.FleetListing`: pages of the fleet, by filter;
* :class:`~registry.storage.device_writes.DeviceWrites`: the conditional transactions;
* :class:`~registry.storage.stats.StatsCounters`: the fleet statistics' counter shards;
* :class:`~registry.storage.liveness.LivenessStore`: signs of life and the sweep's due devices;

all on :class:`~registry.storage.dynamodb.TableStore` (client, table, errors)."""

from __future__ import annotations

from registry.storage.device_reads import DeviceReads
from registry.storage.device_writes import DeviceWrites
from registry.storage.fleet import FleetListing
from registry.storage.liveness import LivenessStore
from registry.storage.stats import StatsCounters


class DeviceStore(DeviceReads, FleetListing, DeviceWrites, StatsCounters, LivenessStore):
    """Every read and write of devices, their history, claims, holders, tags and counters."""
