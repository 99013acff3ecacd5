"""The request headers routes declare (registry.http.params), in the spelling the document
uses: the guard, idempotency and the document read the names here, not from the resolver."""

IF_MATCH = "If-Match"
IDEMPOTENCY_KEY = "Idempotency-Key"
REQUEST_HEADERS = (IF_MATCH, IDEMPOTENCY_KEY)
