"""One module per route: each is a Lambda function's entry point (``lambda_handler``).

Importing one is the function's cold start. The cyclic garbage collector is paused until the
route is built (:func:`registry.http.lambda_entry.entry` resumes it): boto3, pydantic and Powertools
allocate some 10^5 objects that live as long as the container, and the collections their
allocation would trigger scan them all and free nothing (docs/performance.md). Powertools' event
handler package is registered without the resolvers a route does not use
(:mod:`registry.http.lazy_resolvers`)."""

import gc

gc.disable()

from registry.http import lazy_resolvers  # noqa: E402  (after the collector is paused)

lazy_resolvers.install()
