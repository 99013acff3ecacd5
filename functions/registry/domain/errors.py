"""Domain errors. Each knows its problem type, title and HTTP status; ``problems`` turns
them into RFC 9457 responses in one place. Their messages are written for clients."""

from __future__ import annotations


class RegistryError(Exception):
    status = 500
    slug = "internal-error"
    title = "Internal error"
    retry_after: int | None = None
    accept_encoding: str | None = None

    def __init__(self, detail: str, *, errors: list[dict[str, str]] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = errors


class BadRequest(RegistryError):
    status, slug, title = 400, "bad-request", "Bad request"


class MalformedJson(BadRequest):
    slug, title = "malformed-json", "Malformed JSON"


class InvalidCursor(BadRequest):
    slug, title = "invalid-cursor", "Invalid cursor"


class InvalidHeader(BadRequest):
    slug, title = "invalid-header", "Invalid header"


class RouteNotFound(RegistryError):
    status, slug, title = 404, "route-not-found", "Not found"


class MethodNotAllowed(RegistryError):
    status, slug, title = 405, "method-not-allowed", "Method not allowed"


class DeviceNotFound(RegistryError):
    status, slug, title = 404, "device-not-found", "Device not found"

    def __init__(self, device_id: str, *, at: str | None = None) -> None:
        # ``at``: an as-of read, before the device's registration or at or after its deletion.
        super().__init__(
            f"No device with id {device_id}." if at is None else f"Device {device_id} did not exist at {at}."
        )


class HistoryEntryNotFound(RegistryError):
    status, slug, title = 404, "history-entry-not-found", "History entry not found"

    def __init__(self, device_id: str, revision: int, *, latest: int | None = None) -> None:
        latest_is = "" if latest is None else f" Its latest revision is {latest}."
        super().__init__(f"Device {device_id} has no history entry with revision {revision}.{latest_is}")


class HistoryExpired(RegistryError):
    """A status-kind entry removed by the retention setting (``status_history_days``): still a 404,
    with a problem type of its own so that a client can tell "expired" from "never existed"."""

    status, slug, title = 404, "history-expired", "History expired"

    def __init__(self, device_id: str, *, revision: int | None = None, before: str | None = None) -> None:
        if revision is not None:
            detail = (
                f"History entry {revision} of device {device_id} has expired "
                "(status history is kept for a limited time)."
            )
        else:
            detail = f"The status history of device {device_id} before {before} has expired: this answer would need it."
        super().__init__(detail)


class MacAddressTaken(RegistryError):
    status, slug, title = 409, "mac-address-taken", "MAC address already registered"

    def __init__(self, mac: str, existing_id: str) -> None:
        super().__init__(f"MAC address {mac} is already registered to device {existing_id}.")
        self.mac = mac
        self.existing_id = existing_id


class MacRepeatedInBatch(RegistryError):
    """A MAC address that an earlier item of the same batch claimed and could not register."""

    status, slug, title = 409, "mac-address-repeated", "MAC address repeated in the batch"

    def __init__(self, mac: str, first_index: int) -> None:
        super().__init__(
            f"MAC address {mac} is also in item {first_index} of this batch, whose registration did not "
            "complete; send that item again (this one is a repeat of it)."
        )


class DeviceNotDeleted(RegistryError):
    status, slug, title = 409, "device-not-deleted", "Device not deleted"

    def __init__(self, device_id: str) -> None:
        super().__init__(f"Device {device_id} is not deleted: there is nothing to restore.")


class ConcurrentUpdate(RegistryError):
    status, slug, title = 409, "concurrent-update", "Concurrent update"
    retry_after = 1


class IdempotencyInProgress(RegistryError):
    status, slug, title = 409, "idempotency-in-progress", "Request with this Idempotency-Key in progress"
    retry_after = 1


class PreconditionFailed(RegistryError):
    status, slug, title = 412, "precondition-failed", "Precondition failed"


class PayloadTooLarge(RegistryError):
    status, slug, title = 413, "payload-too-large", "Payload too large"


class UnsupportedMediaType(RegistryError):
    status, slug, title = 415, "unsupported-media-type", "Unsupported media type"


class UnsupportedContentEncoding(UnsupportedMediaType):
    """RFC 9110 §15.5.16: a coded body we cannot decode; ``Accept-Encoding`` says what we take."""

    accept_encoding = "identity"


class ValidationFailed(RegistryError):
    status, slug, title = 422, "validation-failed", "Validation failed"


class IdempotencyKeyReused(RegistryError):
    status, slug, title = 422, "idempotency-key-reused", "Idempotency-Key reused with another request"


class ServiceUnavailable(RegistryError):
    status, slug, title = 503, "service-unavailable", "Service unavailable"
    retry_after = 1


class Unauthorized(RegistryError):
    """No valid credentials: the same answer whatever was wrong, so that it tells nothing (not
    whether a credential id exists). In AWS API Gateway answers it (infra/gateway_problems.py)."""

    status, slug, title = 401, "unauthorized", "Unauthorized"


class Forbidden(RegistryError):
    """Authenticated, but the token's scopes do not cover the route (a read-only operator's
    write). In AWS API Gateway answers it (infra/gateway_problems.py, ACCESS_DENIED); locally the
    server does under ``LOCAL_SCOPES`` (local/authorizer.py)."""

    status, slug, title = 403, "forbidden", "Forbidden"


class CredentialNotFound(RegistryError):
    status, slug, title = 404, "credential-not-found", "Credential not found"

    def __init__(self, device_id: str, credential_id: str) -> None:
        super().__init__(f"Device {device_id} has no credential {credential_id}.")


class TooManyCredentials(RegistryError):
    status, slug, title = 409, "too-many-credentials", "Too many credentials"

    def __init__(self, device_id: str, limit: int) -> None:
        super().__init__(
            f"Device {device_id} already has {limit} active credentials: revoke one "
            "(DELETE /devices/{id}/credentials/{credential_id}) before creating another."
        )


# -- fleet jobs (registry/jobs/) ---------------------------------------------------------------


class JobNotFound(RegistryError):
    status, slug, title = 404, "job-not-found", "Job not found"

    def __init__(self, job_id: str) -> None:
        super().__init__(f"No job with id {job_id}.")


class JobFinished(RegistryError):
    status, slug, title = 409, "job-finished", "Job finished"

    def __init__(self, job_id: str, state: str) -> None:
        super().__init__(f"Job {job_id} has finished ({state}): there is nothing to cancel; what it did stays done.")


class JobNotRollbackable(RegistryError):
    status, slug, title = 409, "job-not-rollbackable", "Job cannot be rolled back"


class LaterChange(RegistryError):
    """A rollback's device: a revision after the job's changed one of the fields the job changed."""

    status, slug, title = 409, "later-change", "Changed since the job"

    def __init__(self, device_id: str, revision: int, fields: list[str], *, job_revision: int) -> None:
        super().__init__(
            f"Device {device_id}: revision {revision}, after the job's revision {job_revision}, changed "
            f"{', '.join(fields)} again; rolling back would overwrite it, so the device was left as it is."
        )
        self.revision = revision
