"""Fleet jobs' items (registry/storage/keys.py, "Fleet jobs"): the job, the pages of devices it acts
on, one result per device. Every change of a job's item is conditional on the step it follows, so a
re-delivered message (the queue delivers at least once) finds its step done and changes nothing."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any

from botocore.exceptions import ClientError

from registry.domain.jobs import COUNT_NAMES, Job, JobPage, JobResult, JobState
from registry.storage import keys
from registry.storage.codec import decode as _from_item
from registry.storage.codec import encode as _to_item
from registry.storage.dynamodb import Page, TableStore, backoff_delay, exclusive_start, unavailable

BATCH_GET_ATTEMPTS = 5
# ``state`` is a DynamoDB reserved word; the names a job's updates use, all spelled through these.
_NAMES = {"#state": "state", "#counts": "counts", **{f"#{name}": name for name in COUNT_NAMES}}


def _job_item(job: Job) -> dict[str, Any]:
    return {**job.to_item(), **keys.job_key(job.id)}


def _condition_failed(error: ClientError) -> bool:
    return error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException"


class JobStore(TableStore):
    def create_job(self, job: Job) -> None:
        request = self._put(_job_item(job), new=True)["Put"]
        self._call(self.client.put_item, **request)

    def get_job(self, job_id: str) -> Job | None:
        response = self._call(
            self.client.get_item, TableName=self.table_name, Key=_to_item(keys.job_key(job_id)), ConsistentRead=True
        )
        item = response.get("Item")
        return Job.from_item(_from_item(item)) if item else None

    def list_jobs(self, *, limit: int, after_id: str | None) -> Page[Job]:
        """Newest first (ids are time-ordered)."""
        start = keys.job_key(after_id) if after_id else None
        page = self._query(
            {},
            condition=f"{keys.PK} = :pk",
            values={":pk": keys.JOBS_PK},
            limit=limit,
            ascending=False,
            start_key=start,
            consistent=False,
        )
        return Page([Job.from_item(item) for item in page.items], page.has_more)

    def _update_job(self, job_id: str, update: str, condition: str, values: Mapping[str, Any]) -> Job | None:
        """One conditional update of a job's item: the job after it, or None when the condition failed."""
        try:
            response = self.client.update_item(
                TableName=self.table_name,
                Key=_to_item(keys.job_key(job_id)),
                UpdateExpression=update,
                ConditionExpression=condition,
                ExpressionAttributeNames={name: _NAMES[name] for name in _NAMES if name in update + condition},
                ExpressionAttributeValues=_to_item(dict(values)),
                ReturnValues="ALL_NEW",
            )
        except ClientError as error:
            if _condition_failed(error):
                return None
            raise self._translate(error) from error
        return Job.from_item(_from_item(response["Attributes"]))

    def request_cancel(self, job_id: str) -> Job | None:
        """Flag a queued or running job; None when it is not one (finished, or no such job)."""
        return self._update_job(
            job_id,
            "SET cancel_requested = :yes",
            "#state IN (:queued, :running)",
            {":yes": True, ":queued": JobState.QUEUED.value, ":running": JobState.RUNNING.value},
        )

    def start(self, job_id: str, at: str) -> Job | None:
        return self._update_job(
            job_id,
            "SET #state = :running, started_at = :at",
            "#state = :queued",
            {":running": JobState.RUNNING.value, ":queued": JobState.QUEUED.value, ":at": at},
        )

    def finish(self, job_id: str, state: JobState, at: str) -> Job | None:
        """The job's end, once: None when it had already finished."""
        return self._update_job(
            job_id,
            "SET #state = :state, finished_at = :at",
            "#state IN (:queued, :running)",
            {
                ":state": state.value,
                ":at": at,
                ":queued": JobState.QUEUED.value,
                ":running": JobState.RUNNING.value,
            },
        )

    def store_pages(
        self, job_id: str, *, first: int, pages: Sequence[JobPage], cursor: str | None, matched: int
    ) -> bool:
        """Pages ``first``, ``first + 1``, … of the devices a job acts on, and the resolution's progress
        (``matched`` so far; ``cursor`` None: done), in one transaction that holds only if the
        resolution is still at page ``first``. False: an earlier delivery of this step stored them."""
        puts = [
            self._put({**page.to_item(), **keys.job_page_key(job_id, first + n)}, new=False)
            for n, page in enumerate(pages)
        ]
        progress = {
            "Update": {
                "TableName": self.table_name,
                "Key": _to_item(keys.job_key(job_id)),
                "UpdateExpression": (
                    "SET resolved_pages = :to, resolve_cursor = :cursor, resolved = :done, #counts.#matched = :matched"
                ),
                "ConditionExpression": "resolved_pages = :from AND resolved = :no",
                "ExpressionAttributeNames": {"#counts": "counts", "#matched": "matched"},
                "ExpressionAttributeValues": _to_item(
                    {
                        ":to": first + len(pages),
                        ":from": first,
                        ":cursor": cursor,
                        ":done": cursor is None,
                        ":no": False,
                        ":matched": matched,
                    }
                ),
            }
        }
        try:
            self.client.transact_write_items(TransactItems=[progress, *puts])
        except ClientError as error:
            reasons = error.response.get("CancellationReasons", [])
            if reasons and reasons[0].get("Code") == "ConditionalCheckFailed":
                return False
            raise self._translate(error) from error
        return True

    def get_page(self, job_id: str, page: int) -> JobPage | None:
        response = self._call(
            self.client.get_item,
            TableName=self.table_name,
            Key=_to_item(keys.job_page_key(job_id, page)),
            ConsistentRead=True,
        )
        item = response.get("Item")
        return JobPage.from_item(_from_item(item)) if item else None

    def count_page(self, job_id: str, page: int, counts: Mapping[str, int]) -> Job | None:
        """Add one page's outcomes to the job's counts, once: pages are counted in order, so the
        condition is that ``page`` is the next. None: an earlier delivery counted it."""
        additions = ", ".join(f"#counts.#{name} :{name}" for name in counts)
        return self._update_job(
            job_id,
            f"SET counted_pages = :next ADD {additions}",
            "counted_pages = :page",
            {":next": page + 1, ":page": page, **{f":{name}": n for name, n in counts.items()}},
        )

    # -- results ---------------------------------------------------------------------------------

    def result_put(self, job_id: str, result: JobResult) -> dict[str, Any]:
        """A result's put for a transaction: only if the job has none for that device yet."""
        return self._put({**result.to_item(), **keys.job_result_key(job_id, result.device_id)}, new=True)

    def put_result(self, job_id: str, result: JobResult) -> bool:
        """Write a result outside a device's transaction (nothing changed on the device); False if
        the job has one for that device already."""
        try:
            self.client.put_item(**self.result_put(job_id, result)["Put"])
        except ClientError as error:
            if _condition_failed(error):
                return False
            raise self._translate(error) from error
        return True

    def get_results(self, job_id: str, device_ids: Sequence[str]) -> dict[str, JobResult]:
        """The results the job already has for these devices (up to 100), in one BatchGetItem."""
        wanted = [_to_item(keys.job_result_key(job_id, device_id)) for device_id in dict.fromkeys(device_ids)]
        found: dict[str, JobResult] = {}
        for attempt in range(BATCH_GET_ATTEMPTS):
            if not wanted:
                return found
            response = self._call(
                self.client.batch_get_item, RequestItems={self.table_name: {"Keys": wanted, "ConsistentRead": True}}
            )
            for item in response.get("Responses", {}).get(self.table_name, []):
                result = JobResult.from_item(_from_item(item))
                found[result.device_id] = result
            wanted = response.get("UnprocessedKeys", {}).get(self.table_name, {}).get("Keys", [])
            if wanted and attempt + 1 < BATCH_GET_ATTEMPTS:
                time.sleep(backoff_delay(attempt))
        if wanted:
            raise unavailable(RuntimeError("BatchGetItem left keys unprocessed"))
        return found

    def list_results(
        self, job_id: str, *, outcome: str | None, limit: int, after_device: str | None
    ) -> tuple[list[JobResult], str | None]:
        """A page of results by device id, of one outcome if given. With an outcome, the Query reads
        ``limit`` results and keeps those of that outcome, so a page may hold fewer (even none) while
        the returned device id (where the next page starts) is not None."""
        request: dict[str, Any] = {
            "TableName": self.table_name,
            "KeyConditionExpression": f"{keys.PK} = :pk AND begins_with({keys.SK}, :prefix)",
            "Limit": limit,
            "ConsistentRead": True,
        }
        values: dict[str, Any] = {":pk": keys.job_pk(job_id), ":prefix": keys.JOB_RESULT_PREFIX}
        if outcome is not None:
            request["FilterExpression"] = "outcome = :outcome"
            values[":outcome"] = outcome
        request["ExpressionAttributeValues"] = _to_item(values)
        start = keys.job_result_key(job_id, after_device) if after_device else None
        response = self._call(self.client.query, **request, **exclusive_start(start))
        results = [JobResult.from_item(_from_item(item)) for item in response.get("Items", [])]
        last = response.get("LastEvaluatedKey")
        resume = str(_from_item(last)[keys.SK]).removeprefix(keys.JOB_RESULT_PREFIX) if last else None
        return results, resume
