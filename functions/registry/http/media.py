"""The media types of request and response bodies."""

JSON = "application/json"
MERGE_PATCH = "application/merge-patch+json"


def body_media_types(method: str) -> tuple[str, ...]:
    """The request body types a method's routes take (the guard and the document read this)."""
    return (JSON, MERGE_PATCH) if method == "PATCH" else (JSON,)
