"""Fleet jobs' rules as data (registry/domain/jobs.py): the merge patch that undoes a revision, which
later changes block it, how outcomes are counted, the step an unfinished job is at, and when a job's
item on the stream is a ``Job finished`` event (registry/stream/change_events.py)."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from registry.domain.changes import diff, merge_patch
from registry.domain.jobs import Job, JobMessage, Step, current_step, overlap, tally, undo_patch
from registry.domain.vocabulary import ATTRIBUTE_FIELDS
from registry.storage import keys
from registry.storage.codec import encode
from registry.stream.change_events import job_finished

_values = st.none() | st.sampled_from(["a", "b", "c"])
_attributes = st.dictionaries(st.sampled_from(["k", "j", "rack"]), st.sampled_from(["1", "2"]), max_size=3)
_configs = st.fixed_dictionaries(
    {
        "name": st.sampled_from(["n1", "n2"]),
        "device_type": st.just("sensor"),
        "mac_address": st.just("00:1a:2b:3c:4d:5e"),
        "ip_address": st.none(),
        "firmware_version": _values,
        "serial_number": _values,
        "location": _values,
        "attributes": _attributes,
        "tags": st.sampled_from([[], ["edge"], ["edge", "roof"]]),
    }
)


@given(before=_configs, after=_configs)
def test_undoing_a_revision_gives_back_exactly_the_attributes_before_it(
    before: dict[str, Any], after: dict[str, Any]
) -> None:
    changes = diff(before, after, ATTRIBUTE_FIELDS)

    assert merge_patch(after, undo_patch(changes)) == merge_patch(before, {})


@given(before=_configs, after=_configs, later=_configs)
def test_undoing_keeps_a_later_change_to_fields_the_revision_did_not_touch(
    before: dict[str, Any], after: dict[str, Any], later: dict[str, Any]
) -> None:
    changes = diff(before, after, ATTRIBUTE_FIELDS)
    later_changes = diff(after, later, ATTRIBUTE_FIELDS)
    if overlap(changes, later_changes):
        return  # the device is skipped: nothing to check here
    undone = merge_patch(later, undo_patch(changes))

    for name, change in diff(later, undone, ATTRIBUTE_FIELDS).items():
        assert name in changes and change["new"] == changes[name]["old"]
    for name in later_changes:
        assert diff(later, undone, ATTRIBUTE_FIELDS).get(name) is None


def test_a_later_change_of_another_attribute_key_does_not_overlap_one_of_the_same_does() -> None:
    changes = {"attributes.k": {"old": "0", "new": "1"}, "location": {"old": "a", "new": "b"}}

    assert overlap(changes, {"attributes.j": {"old": "0", "new": "2"}}) == []
    assert overlap(changes, {"attributes.k": {"old": "1", "new": "2"}, "name": {}}) == ["attributes.k"]


def test_a_dry_runs_would_change_counts_as_changed() -> None:
    assert tally(["changed", "would_change", "failed", "skipped", "unchanged", "unchanged"]) == {
        "changed": 2,
        "unchanged": 2,
        "failed": 1,
        "skipped": 1,
    }


_JOB = {"id": "01a250d4-ae5a-79b2-a2fb-fd66bef0f7b5", "state": "running", "filter": {}, "patch": {}}


def _job(**fields: Any) -> Job:
    return Job(**{**_JOB, "dry_run": False, "created_by": "op", "created_at": "2026-12-07T00:00:00.000Z", **fields})


def test_an_unfinished_jobs_current_step_is_its_resolution_then_its_next_uncounted_page() -> None:
    assert current_step(_job(resolved_pages=3)) == JobMessage(_job().id, Step.RESOLVE, 3)
    assert current_step(_job(resolved=True, resolved_pages=3, counted_pages=1)) == JobMessage(_job().id, Step.APPLY, 1)


def _image(job: Job) -> dict[str, Any]:
    return encode({**job.to_item(), **keys.job_key(job.id)})


def _modify(old: Job, new: Job) -> dict[str, Any]:
    images = {"Keys": encode(keys.job_key(new.id)), "OldImage": _image(old), "NewImage": _image(new)}
    return {"eventName": "MODIFY", "dynamodb": images}


def test_a_job_turning_finished_is_one_job_finished_event_carrying_the_job_as_answered() -> None:
    finished = _job(state="succeeded", finished_at="2026-12-07T00:01:00.000Z")

    event = job_finished(_modify(_job(), finished))

    assert event == {"Source": "device-registry", "DetailType": "Job finished", "Detail": finished.answered()}
    assert job_finished(_modify(_job(), _job(counted_pages=1))) is None  # progress, not the end
    assert job_finished(_modify(finished, finished)) is None  # no transition
