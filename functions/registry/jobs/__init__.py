"""Fleet jobs (docs/jobs.md): the service behind the /jobs routes (:mod:`.service`), the worker its
queue invokes (:mod:`.worker`) and the queue between them (:mod:`.queue`)."""
