"""Entity tags: a resource's version, as ``ETag`` answers it and ``If-Match`` names it
(registry/http/preconditions.py reads them back)."""


def etag(version: int) -> str:
    return f'"{version}"'
