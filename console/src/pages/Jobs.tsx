import { useEffect, useState } from "preact/hooks";
import { type Answer, errorDetail, type Query, type Schemas } from "../api";
import { ChangesTable, show } from "../components/Changes";
import { Confirm } from "../components/Confirm";
import { FilterFields, type Filters } from "../components/FilterFields";
import { ErrorBox, Loading } from "../components/Problem";
import { useConsole } from "../context";
import { JOB_OUTCOMES } from "../fields";
import { useLoad } from "../load";
import { href, type Location, navigate } from "../router";
import { shortTime } from "../time";

export type Job = Answer<"/jobs/{job_id}">;
type JobFilter = Job["filter"];
type JobRequest = Schemas["JobRequest"];
type Outcome = NonNullable<NonNullable<Query<"/jobs/{job_id}/results">>["outcome"]>;

const FINISHED: readonly Job["state"][] = ["succeeded", "completed_with_failures", "cancelled", "failed"];
const POLL_MS = 1000;

export const finished = (job: Job) => FINISHED.includes(job.state);
const processed = (job: Job) => job.counts.changed + job.counts.unchanged + job.counts.failed + job.counts.skipped;

/** Fleet jobs, newest first, and (for a writer) the form that previews a new one as a dry run. */
export function JobsPage({ where }: { where: Location }) {
  const { api, session } = useConsole();
  const cursor = where.query.get("cursor");
  const jobs = useLoad(() => api.get("/jobs", { query: { limit: 20, cursor: cursor ?? undefined } }).then((r) => r.body), [cursor]);
  return (
    <>
      <h1>Jobs</h1>
      {session.canWrite && <NewJobForm />}
      <section aria-labelledby="jobs-title">
        <h2 id="jobs-title">Recent jobs</h2>
        <ErrorBox message={jobs.error} />
        {jobs.loading && <Loading what="jobs" />}
        {jobs.data && jobs.data.items.length === 0 && <p class="muted">No jobs yet.</p>}
        {jobs.data && jobs.data.items.length > 0 && (
          <table class="jobs">
            <caption class="visually-hidden">Jobs, newest first</caption>
            <thead>
              <tr>
                <th scope="col">Job</th>
                <th scope="col">State</th>
                <th scope="col">Created</th>
                <th scope="col">Filter</th>
                <th scope="col">Changes</th>
                <th scope="col" class="number">Matched</th>
                <th scope="col" class="number">Changed</th>
                <th scope="col" class="number">Failed</th>
              </tr>
            </thead>
            <tbody>
              {jobs.data.items.map((job) => (
                <tr key={job.id}>
                  <td>
                    <a href={href(`/jobs/${job.id}`)}>
                      <code>{job.id.slice(0, 8)}</code>
                    </a>
                    {job.dry_run && <span class="muted"> (dry run)</span>}
                    {job.rollback_of && <span class="muted"> (rollback)</span>}
                  </td>
                  <td>
                    <span class={`pill job-${job.state}`}>{job.state.replace(/_/g, " ")}</span>
                  </td>
                  <td>{shortTime(job.created_at)}</td>
                  <td>{describeFilter(job.filter)}</td>
                  <td>
                    <code>{JSON.stringify(job.patch)}</code>
                  </td>
                  <td class="number">{job.counts.matched}</td>
                  <td class="number">{job.counts.changed}</td>
                  <td class="number">{job.counts.failed}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
        {jobs.data?.next_cursor && (
          <nav class="pager" aria-label="Pages">
            <a href={href("/jobs", { cursor: jobs.data.next_cursor })} rel="next">
              Older jobs →
            </a>
          </nav>
        )}
      </section>
    </>
  );
}

function describeFilter(filter: JobFilter): string {
  const parts = Object.entries(filter ?? {}).map(([name, value]) => `${name}=${String(value)}`);
  return parts.length ? parts.join(", ") : "every device";
}

/** A new job: the fleet filters, a merge patch, and a dry run first — the preview is a job of its
 * own, whose page lists what would change and offers to run it for real. */
function NewJobForm() {
  const { api } = useConsole();
  const [filter, setFilter] = useState<Filters>({});
  const [everyDevice, setEveryDevice] = useState(false);
  const [patch, setPatch] = useState("");
  const [error, setError] = useState<string | null>(null);
  const preview = async () => {
    setError(null);
    let parsed: unknown;
    try {
      parsed = JSON.parse(patch);
    } catch {
      setError("The changes are not valid JSON: write them as an object, e.g. {\"firmware_version\": \"2.3.0\"}.");
      return;
    }
    const chosen = Object.fromEntries(Object.entries(filter).filter(([, value]) => value));
    try {
      const answer = await api.call("post", "/jobs", {
        // The API validates the patch as PATCH does, and answers what is wrong with it.
        body: { filter: chosen as JobRequest["filter"], patch: parsed as JobRequest["patch"], dry_run: true, all: everyDevice },
      });
      navigate(`/jobs/${answer.body.id}`);
    } catch (failure) {
      setError(errorDetail(failure));
    }
  };
  return (
    <form
      class="filters"
      aria-labelledby="new-job-title"
      onSubmit={(event) => {
        event.preventDefault();
        void preview();
      }}
    >
      <h2 id="new-job-title">New job</h2>
      <p class="muted">Choose the devices, write the change, and preview it: the dry run changes nothing.</p>
      <div class="grid">
        <FilterFields prefix="job" values={filter} onChange={setFilter} />
      </div>
      <p>
        <input id="job-all" type="checkbox" checked={everyDevice} onChange={(e) => setEveryDevice(e.currentTarget.checked)} />{" "}
        <label for="job-all" class="inline-label">
          Every device (needed when no filter is chosen)
        </label>
      </p>
      <p>
        <label for="job-patch">Changes: a JSON merge patch of attributes and tags</label>
        <textarea id="job-patch" rows={3} cols={60} required placeholder='{"firmware_version": "2.3.0"}' value={patch} onInput={(e) => setPatch(e.currentTarget.value)} />
      </p>
      <ErrorBox message={error} />
      <p class="actions">
        <button type="submit">Preview (dry run)</button>
      </p>
    </form>
  );
}

/** One job: what it does, how far it has got (polled while it runs), its results, and the writes
 * that follow from where it is: cancel while it runs, run a previewed one, roll back a finished one. */
export function JobPage({ id }: { id: string }) {
  const { api } = useConsole();
  const job = useLoad(() => api.get("/jobs/{job_id}", { path: { job_id: id } }).then((r) => r.body), [id]);
  const [tick, setTick] = useState(0);
  const running = job.data !== null && !finished(job.data);
  useEffect(() => {
    if (!running) return;
    const timer = setTimeout(() => {
      job.reload();
      setTick((n) => n + 1);
    }, POLL_MS);
    return () => clearTimeout(timer);
  }, [running, job.data]);
  if (job.error && !job.data) {
    return (
      <>
        <h1>Job</h1>
        <ErrorBox message={job.error} />
      </>
    );
  }
  if (!job.data) return <Loading what="the job" />;
  const data = job.data;
  return (
    <>
      <h1>
        {data.dry_run ? "Dry run" : "Job"} <code>{data.id.slice(0, 8)}</code>{" "}
        <span class={`pill job-${data.state}`}>{data.state.replace(/_/g, " ")}</span>
      </h1>
      <p class="muted">
        <code>{data.id}</code>
        {data.rollback_of && (
          <>
            {" "}
            · rolls back <a href={href(`/jobs/${data.rollback_of}`)}>job {data.rollback_of.slice(0, 8)}</a>
          </>
        )}
      </p>
      <dl class="fields">
        <dt>Devices</dt>
        <dd>{describeFilter(data.filter)}</dd>
        <dt>Changes</dt>
        <dd>
          <code>{JSON.stringify(data.patch)}</code>
        </dd>
        <dt>Created</dt>
        <dd>
          {shortTime(data.created_at)} by {data.created_by}
        </dd>
        <dt>Started</dt>
        <dd>{shortTime(data.started_at)}</dd>
        <dt>Finished</dt>
        <dd>{shortTime(data.finished_at)}</dd>
      </dl>
      <Progress job={data} />
      <Actions job={data} onChanged={job.reload} />
      <Results id={id} dryRun={data.dry_run} version={finished(data) ? -1 : tick} />
    </>
  );
}

function Progress({ job }: { job: Job }) {
  const total = job.counts.matched;
  const done = processed(job);
  return (
    <section aria-labelledby="progress-title">
      <h2 id="progress-title">Progress</h2>
      <p>
        <label for="job-progress">
          {done} of {total} devices done
        </label>
        <progress id="job-progress" max={Math.max(total, 1)} value={finished(job) && total === 0 ? 1 : done} />
      </p>
      <p role="status" data-testid="job-counts">
        {job.dry_run ? `${job.counts.changed} would change` : `${job.counts.changed} changed`}, {job.counts.unchanged} unchanged,{" "}
        {job.counts.failed} failed, {job.counts.skipped} skipped{finished(job) ? ` — ${job.state.replace(/_/g, " ")}.` : "…"}
      </p>
    </section>
  );
}

function Actions({ job, onChanged }: { job: Job; onChanged: () => void }) {
  const { api, session } = useConsole();
  const [asking, setAsking] = useState<"cancel" | "rollback" | null>(null);
  const [error, setError] = useState<string | null>(null);
  if (!session.canWrite) return null;
  const act = async (what: () => Promise<void>) => {
    setAsking(null);
    setError(null);
    try {
      await what();
    } catch (failure) {
      setError(errorDetail(failure));
    }
  };
  const cancel = () =>
    act(async () => {
      await api.call("post", "/jobs/{job_id}/cancel", { path: { job_id: job.id }, body: {} });
      onChanged();
    });
  const rollback = () =>
    act(async () => {
      const answer = await api.call("post", "/jobs/{job_id}/rollback", { path: { job_id: job.id }, body: {} });
      navigate(`/jobs/${answer.body.id}`);
    });
  const runForReal = () =>
    act(async () => {
      const filter = job.filter ?? {};
      const answer = await api.call("post", "/jobs", {
        body: {
          filter: filter as JobRequest["filter"],
          patch: job.patch as JobRequest["patch"],
          dry_run: false,
          all: Object.keys(filter).length === 0,
        },
      });
      navigate(`/jobs/${answer.body.id}`);
    });
  return (
    <section aria-labelledby="actions-title">
      <h2 id="actions-title">Actions</h2>
      <ErrorBox message={error} />
      <p class="actions">
        {!finished(job) && (
          <button type="button" class="danger" onClick={() => setAsking("cancel")}>
            Cancel the job
          </button>
        )}
        {finished(job) && job.dry_run && job.state === "succeeded" && (
          <button type="button" onClick={() => void runForReal()}>
            Run this job
          </button>
        )}
        {finished(job) && !job.dry_run && job.counts.changed > 0 && (
          <button type="button" class="danger" onClick={() => setAsking("rollback")}>
            Roll back
          </button>
        )}
      </p>
      {asking === "cancel" && (
        <Confirm title="Cancel this job?" action="Cancel the job" onConfirm={() => void cancel()} onCancel={() => setAsking(null)}>
          <p>It stops within seconds. What it has changed stays changed (roll it back afterwards to undo it).</p>
        </Confirm>
      )}
      {asking === "rollback" && (
        <Confirm title="Roll back this job?" action="Roll back" onConfirm={() => void rollback()} onCancel={() => setAsking(null)}>
          <p>
            A new job sets the fields this one changed back to their values before it, on each device it changed. A device whose
            same field changed again since is skipped.
          </p>
        </Confirm>
      )}
    </section>
  );
}

/** The job's results; `version` rises at each poll of a running job, which reads them again. */
function Results({ id, dryRun, version }: { id: string; dryRun: boolean; version: number }) {
  const { api } = useConsole();
  const [outcome, setOutcome] = useState<Outcome | "">("");
  const [pages, setPages] = useState<(string | null)[]>([null]);
  const results = useLoad(async () => {
    const items = [];
    let next: string | null = null;
    for (const cursor of pages) {
      const page = await api.get("/jobs/{job_id}/results", {
        path: { job_id: id },
        query: { outcome: outcome || undefined, limit: 50, cursor: cursor ?? undefined },
      });
      items.push(...page.body.items);
      next = page.body.next_cursor;
    }
    return { items, next };
  }, [id, outcome, pages.join(","), version]);
  return (
    <section aria-labelledby="results-title">
      <h2 id="results-title">{dryRun ? "What would change" : "Results"}</h2>
      <p class="inline">
        <label for="results-outcome">Outcome</label>
        <select
          id="results-outcome"
          value={outcome}
          onChange={(e) => {
            setOutcome(e.currentTarget.value as Outcome | "");
            setPages([null]);
          }}
        >
          <option value="">all</option>
          {JOB_OUTCOMES.map((value) => (
            <option key={value} value={value}>
              {value.replace(/_/g, " ")}
            </option>
          ))}
        </select>
      </p>
      <ErrorBox message={results.error} />
      {results.data && results.data.items.length === 0 && <p class="muted">No results yet.</p>}
      {results.data && results.data.items.length > 0 && (
        <table class="results">
          <caption class="visually-hidden">Each device's outcome</caption>
          <thead>
            <tr>
              <th scope="col">Device</th>
              <th scope="col">Outcome</th>
              <th scope="col">Revision</th>
              <th scope="col">Changes or problem</th>
            </tr>
          </thead>
          <tbody>
            {results.data.items.map((result) => (
              <tr key={result.device_id}>
                <td>
                  <a href={href(`/devices/${result.device_id}`)}>
                    <code>{result.device_id}</code>
                  </a>
                </td>
                <td>
                  <span class={`pill outcome-${result.outcome}`}>{result.outcome.replace(/_/g, " ")}</span>
                </td>
                <td>{show(result.revision)}</td>
                <td>
                  {result.problem ? (
                    <span class="error-text">{result.problem.detail}</span>
                  ) : result.changes ? (
                    <ChangesTable changes={result.changes} caption={`Changes on ${result.device_id}`} />
                  ) : (
                    "—"
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {results.loading && <Loading what="results" />}
      {results.data?.next && (
        <button type="button" onClick={() => setPages([...pages, results.data?.next ?? null])}>
          More results
        </button>
      )}
    </section>
  );
}
