"""The job worker (docs/jobs.md), not a route: the job queue (SQS FIFO, infra/jobs.py) invokes it with
a batch of a job's step messages; each runs with registry/jobs/worker.py. Powertools' FIFO batch
processor answers a partial batch response: a step that fails, and those behind it in its group, are
delivered again (each step is idempotent), and a step that keeps failing fails its job."""

import gc
import json
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.batch import SqsFifoPartialProcessor, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from registry import metrics
from registry.domain.jobs import JobMessage
from registry.wiring import get_job_worker

# handlers/ pauses the garbage collector for a route's cold start; a queue consumer lives on.
gc.enable()

logger = Logger()
processor = SqsFifoPartialProcessor()


def run_step(record: SQSRecord) -> None:
    message = JobMessage.from_body(json.loads(record.body))
    deliveries = int(record.attributes.approximate_receive_count or 1)
    logger.info("job step", extra={"job_id": message.job_id, "step": message.step.value, "page": message.page})
    get_job_worker().handle(message, deliveries=deliveries)


@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    try:
        return dict(
            process_partial_response(event=event, record_handler=run_step, processor=processor, context=context)
        )
    finally:
        metrics.flush()
