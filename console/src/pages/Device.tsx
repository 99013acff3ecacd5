import { useState } from "preact/hooks";
import { ApiError, type Device, type DeviceStatus, errorDetail, type HistoryEntry } from "../api";
import { ChangesTable, show } from "../components/Changes";
import { Confirm } from "../components/Confirm";
import { ErrorBox, Loading } from "../components/Problem";
import { segments, StatusTimeline } from "../components/Timeline";
import { useConsole } from "../context";
import { DETAIL_FIELDS, STATUS_FIELDS } from "../fields";
import { useLoad } from "../load";
import { href } from "../router";
import { fromInput, hoursBefore, shortTime, toInput, toInputCeiling } from "../time";
import { Credentials } from "./Credentials";

export const CONFLICT = "This device changed since you opened it — reload to see the change, then try again.";

interface Opened {
  device: Device | null; // null: deleted
  etag: string | null;
  status: DeviceStatus | null;
  latest: HistoryEntry | null;
  registeredAt: string | null;
}

/** One device's life: what it is now, its status over time, its history, what differs between two
 * revisions, what it was at any instant, and the writes that bring an earlier state back. */
export function DevicePage({ id }: { id: string }) {
  const { api } = useConsole();
  const opened = useLoad<Opened>(async () => {
    const history = (order: "asc" | "desc") =>
      api.get("/devices/{device_id}/history", { path: { device_id: id }, query: { limit: 1, order } });
    const [newest, oldest] = await Promise.all([history("desc"), history("asc")]);
    const latest = newest.body.items[0] ?? null;
    const registeredAt = oldest.body.items[0]?.at ?? null;
    if (latest?.kind === "deleted") return { device: null, etag: null, status: null, latest, registeredAt };
    const [detail, status] = await Promise.all([
      api.get("/devices/{device_id}", { path: { device_id: id } }),
      api.get("/devices/{device_id}/status", { path: { device_id: id } }),
    ]);
    return { device: detail.body, etag: detail.etag, status: status.body, latest, registeredAt };
  }, [id]);
  // A write's result replaces what the page shows at once; `version` remounts the sections that
  // read history, so they show the new revision.
  const [version, setVersion] = useState(0);
  const reload = () => {
    opened.reload();
    setVersion((n) => n + 1);
  };
  if (opened.error) {
    return (
      <>
        <h1>Device</h1>
        <ErrorBox message={opened.error} />
      </>
    );
  }
  if (!opened.data) return <Loading what="the device" />;
  const { device, etag, status, latest, registeredAt } = opened.data;
  const title = device?.name ?? String((latest?.snapshot as { name?: string } | undefined)?.name ?? id);
  return (
    <>
      <h1>
        {title} {device === null && <span class="pill status-decommissioned">deleted</span>}
      </h1>
      <p class="muted">
        <code>{id}</code> · revision {latest?.revision ?? "—"}
      </p>
      {device === null ? (
        <Restore id={id} onDone={reload} />
      ) : (
        <div class="two">
          <Attributes device={device} />
          {status && <Status status={status} />}
        </div>
      )}
      <Timeline key={`t${version}`} id={id} registeredAt={registeredAt} />
      <Diff key={`d${version}`} id={id} latest={latest?.revision ?? 1} />
      <AsOf id={id} />
      <History id={id} version={version} etag={etag} deleted={device === null} onChanged={reload} />
      {device !== null && <Credentials id={id} />}
    </>
  );
}

function Attributes({ device }: { device: Device }) {
  return (
    <section aria-labelledby="attributes-title">
      <h2 id="attributes-title">Attributes</h2>
      <DetailList device={device} />
    </section>
  );
}

function DetailList({ device }: { device: Device }) {
  return (
    <dl class="fields">
      {DETAIL_FIELDS.map((field) => (
        <div key={field.key}>
          <dt>{field.label}</dt>
          <dd>{field.time ? shortTime(String(device[field.key])) : show(device[field.key])}</dd>
        </div>
      ))}
      <div>
        <dt>Tags</dt>
        <dd>
          {device.tags.length === 0 ? "—" : device.tags.map((tag) => (
            <a key={tag} class="pill" href={href("/", { tag })}>
              {tag}
            </a>
          ))}
        </dd>
      </div>
      {Object.entries(device.attributes).map(([key, value]) => (
        <div key={key}>
          <dt>
            <code>attributes.{key}</code>
          </dt>
          <dd>{value}</dd>
        </div>
      ))}
    </dl>
  );
}

function Status({ status }: { status: DeviceStatus }) {
  return (
    <section aria-labelledby="status-title">
      <h2 id="status-title">Status</h2>
      <dl class="fields">
        {STATUS_FIELDS.map((field) => (
          <div key={field.key}>
            <dt>{field.label}</dt>
            <dd>
              {field.key === "status" || field.key === "liveness" ? (
                <span class={`pill ${field.key}-${status[field.key]}`}>{status[field.key]}</span>
              ) : field.time ? (
                shortTime(status[field.key] as string | null)
              ) : (
                show(status[field.key])
              )}
            </dd>
          </div>
        ))}
      </dl>
    </section>
  );
}

const RANGES = [
  { hours: 24, label: "Last 24 hours" },
  { hours: 24 * 7, label: "Last 7 days" },
  { hours: 24 * 30, label: "Last 30 days" },
];

/** Every status history entry in [since, until), following `next_cursor` to the end. */
async function statusChanges(api: ReturnType<typeof useConsole>["api"], id: string, since: string, until: string) {
  const changes: { at: string; status: string }[] = [];
  let cursor: string | undefined;
  do {
    const page = await api.get("/devices/{device_id}/history", {
      path: { device_id: id },
      query: { kind: "status", since, until, order: "asc", limit: 100, cursor },
    });
    for (const entry of page.body.items) changes.push({ at: entry.at, status: String(entry.snapshot.status) });
    cursor = page.body.next_cursor ?? undefined;
  } while (cursor);
  return changes;
}

function Timeline({ id, registeredAt }: { id: string; registeredAt: string | null }) {
  const { api } = useConsole();
  const [range, setRange] = useState(() => {
    const now = new Date();
    return { since: toInput(hoursBefore(now, 24 * 7)), until: toInputCeiling(now) };
  });
  const presets = [
    ...RANGES.map((preset) => ({ label: preset.label, since: hoursBefore(new Date(), preset.hours) })),
    ...(registeredAt ? [{ label: "Since registration", since: new Date(Date.parse(registeredAt)) }] : []),
  ];
  const [draft, setDraft] = useState(range);
  const chart = useLoad(async () => {
    const since = fromInput(range.since) ?? "";
    const until = fromInput(range.until) ?? "";
    const end = Math.min(Date.parse(until), Date.now());
    // Before its registration a device has no status (the API would answer 404): not asked.
    const registered = registeredAt !== null && Date.parse(registeredAt) <= Date.parse(since);
    const atStart = registered
      ? (await api.get("/devices/{device_id}/status", { path: { device_id: id }, query: { as_of: since } })).body.status
      : null;
    const changes = await statusChanges(api, id, since, until);
    const start = Date.parse(since);
    return { parts: segments(atStart, changes, start, end), start, end };
  }, [id, range.since, range.until]);
  return (
    <section aria-labelledby="timeline-title">
      <h2 id="timeline-title">Status timeline</h2>
      <form
        class="inline"
        onSubmit={(event) => {
          event.preventDefault();
          setRange(draft);
        }}
      >
        <label for="timeline-since">From (UTC)</label>
        <input id="timeline-since" type="datetime-local" step={1} value={draft.since} onInput={(e) => setDraft({ ...draft, since: e.currentTarget.value })} required />
        <label for="timeline-until">To (UTC)</label>
        <input id="timeline-until" type="datetime-local" step={1} value={draft.until} onInput={(e) => setDraft({ ...draft, until: e.currentTarget.value })} required />
        <button type="submit">Show</button>
        {presets.map((preset) => (
          <button
            key={preset.label}
            type="button"
            onClick={() => {
              const chosen = { since: toInput(preset.since), until: toInputCeiling(new Date()) };
              setDraft(chosen);
              setRange(chosen);
            }}
          >
            {preset.label}
          </button>
        ))}
      </form>
      <ErrorBox message={chart.error} />
      {chart.loading && <Loading what="the timeline" />}
      {chart.data && !chart.loading && <StatusTimeline {...chart.data} />}
    </section>
  );
}

function Diff({ id, latest }: { id: string; latest: number }) {
  const { api } = useConsole();
  const [draft, setDraft] = useState({ from: Math.max(1, latest - 1), to: latest });
  const [chosen, setChosen] = useState(draft);
  const diff = useLoad(
    () => api.get("/devices/{device_id}/diff", { path: { device_id: id }, query: chosen }).then((r) => r.body),
    [id, chosen.from, chosen.to],
  );
  return (
    <section aria-labelledby="diff-title">
      <h2 id="diff-title">Compare revisions</h2>
      <form
        class="inline"
        onSubmit={(event) => {
          event.preventDefault();
          setChosen(draft);
        }}
      >
        <label for="diff-from">From revision</label>
        <input id="diff-from" type="number" min={1} value={draft.from} onInput={(e) => setDraft({ ...draft, from: Number(e.currentTarget.value) })} required />
        <label for="diff-to">To revision</label>
        <input id="diff-to" type="number" min={1} value={draft.to} onInput={(e) => setDraft({ ...draft, to: Number(e.currentTarget.value) })} required />
        <button type="submit">Compare</button>
      </form>
      <ErrorBox message={diff.error} />
      {diff.data && (
        <div data-testid="diff">
          <p class="muted">
            What differs from revision {diff.data.from} to revision {diff.data.to}:
          </p>
          <ChangesTable changes={diff.data.changes} caption={`Differences from revision ${diff.data.from} to ${diff.data.to}`} />
        </div>
      )}
    </section>
  );
}

function AsOf({ id }: { id: string }) {
  const { api } = useConsole();
  const [instant, setInstant] = useState(() => toInput(new Date()));
  const [result, setResult] = useState<{ at: string; device: Device | null; status: DeviceStatus | null; error: string | null } | null>(null);
  const look = async () => {
    const at = fromInput(instant) ?? "";
    try {
      const [detail, status] = await Promise.all([
        api.get("/devices/{device_id}", { path: { device_id: id }, query: { as_of: at } }),
        api.get("/devices/{device_id}/status", { path: { device_id: id }, query: { as_of: at } }),
      ]);
      setResult({ at, device: detail.body, status: status.body, error: null });
    } catch (error) {
      setResult({ at, device: null, status: null, error: errorDetail(error) });
    }
  };
  return (
    <section aria-labelledby="asof-title">
      <h2 id="asof-title">The device as of a time</h2>
      <form
        class="inline"
        onSubmit={(event) => {
          event.preventDefault();
          void look();
        }}
      >
        <label for="asof-at">As of (UTC)</label>
        <input id="asof-at" type="datetime-local" step={1} value={instant} onInput={(e) => setInstant(e.currentTarget.value)} required />
        <button type="submit">Show</button>
      </form>
      {result && <ErrorBox message={result.error} />}
      {result?.device && (
        <div class="two" data-testid="as-of">
          <div>
            <h3>Attributes at {shortTime(result.at)}</h3>
            <DetailList device={result.device} />
          </div>
          {result.status && (
            <div>
              <h3>Status at {shortTime(result.at)}</h3>
              <p>
                <span class={`pill status-${result.status.status}`}>{result.status.status}</span> {result.status.reason}
              </p>
            </div>
          )}
        </div>
      )}
    </section>
  );
}

const KINDS = [
  { value: "", label: "all" },
  { value: "config", label: "configuration" },
  { value: "status", label: "status" },
  { value: "liveness", label: "liveness" },
] as const;

function History({
  id,
  version,
  etag,
  deleted,
  onChanged,
}: {
  id: string;
  version: number;
  etag: string | null;
  deleted: boolean;
  onChanged: () => void;
}) {
  const { api, session } = useConsole();
  const [kind, setKind] = useState<(typeof KINDS)[number]["value"]>("");
  const [pages, setPages] = useState<(string | null)[]>([null]);
  const [reverting, setReverting] = useState<HistoryEntry | null>(null);
  const [outcome, setOutcome] = useState<{ error: string | null; conflict: boolean; done: string | null }>({ error: null, conflict: false, done: null });
  const loaded = useLoad(async () => {
    const entries: HistoryEntry[] = [];
    let next: string | null = null;
    for (const cursor of pages) {
      const page = await api.get("/devices/{device_id}/history", {
        path: { device_id: id },
        query: { kind: kind || undefined, limit: 20, cursor: cursor ?? undefined },
      });
      entries.push(...page.body.items);
      next = page.body.next_cursor;
    }
    return { entries, next };
  }, [id, version, kind, pages.join(",")]);
  const revert = async (entry: HistoryEntry, reason: string) => {
    setReverting(null);
    try {
      await api.call("post", "/devices/{device_id}/revert", {
        path: { device_id: id },
        body: { to_revision: entry.revision, reason: reason || null },
        ifMatch: etag,
      });
      setOutcome({ error: null, conflict: false, done: `Reverted to revision ${entry.revision}.` });
      onChanged();
    } catch (error) {
      const conflict = error instanceof ApiError && error.status === 412;
      setOutcome({ error: conflict ? `${CONFLICT} (${errorDetail(error)})` : errorDetail(error), conflict, done: null });
    }
  };
  const canRevert = session.canWrite && !deleted;
  return (
    <section aria-labelledby="history-title">
      <h2 id="history-title">History</h2>
      <p class="inline">
        <label for="history-kind">Show</label>
        <select
          id="history-kind"
          value={kind}
          onChange={(e) => {
            setKind(e.currentTarget.value as typeof kind);
            setPages([null]);
          }}
        >
          {KINDS.map((k) => (
            <option key={k.value} value={k.value}>
              {k.label}
            </option>
          ))}
        </select>
      </p>
      {outcome.done && (
        <p class="done" role="status">
          {outcome.done}
        </p>
      )}
      <ErrorBox message={outcome.error} />
      {outcome.conflict && (
        <p>
          <button type="button" onClick={() => location.reload()}>
            Reload
          </button>
        </p>
      )}
      <ErrorBox message={loaded.error} />
      {loaded.data && (
        <ol class="history" reversed>
          {loaded.data.entries.map((entry) => (
            <li key={entry.revision} data-revision={entry.revision}>
              <h3>
                Revision {entry.revision} · <span class={`kind kind-${entry.kind}`}>{entry.kind}</span>{" "}
                <span class="muted">
                  {shortTime(entry.at)} by {entry.changed_by}
                </span>
              </h3>
              {entry.reverted_to !== undefined && <p>Reverted to revision {entry.reverted_to}.</p>}
              {entry.reason && <p>Reason: {entry.reason}</p>}
              <ChangesTable changes={entry.changes} caption={`Changes in revision ${entry.revision}`} />
              {canRevert && entry.kind !== "status" && entry.kind !== "deleted" && (
                <button type="button" onClick={() => setReverting(entry)}>
                  Revert to revision {entry.revision}
                </button>
              )}
            </li>
          ))}
        </ol>
      )}
      {loaded.loading && <Loading what="history" />}
      {loaded.data?.next && (
        <button type="button" onClick={() => setPages([...pages, loaded.data?.next ?? null])}>
          Older entries
        </button>
      )}
      {reverting && (
        <Confirm
          title={`Revert to revision ${reverting.revision}?`}
          action={`Revert to revision ${reverting.revision}`}
          withReason
          onConfirm={(reason) => void revert(reverting, reason)}
          onCancel={() => setReverting(null)}
        >
          <p>The attributes in force at revision {reverting.revision} become current again, as a new revision. The status is not touched.</p>
        </Confirm>
      )}
    </section>
  );
}

function Restore({ id, onDone }: { id: string; onDone: () => void }) {
  const { api, session } = useConsole();
  const [asking, setAsking] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const restore = async (reason: string) => {
    setAsking(false);
    try {
      await api.call("post", "/devices/{device_id}/restore", { path: { device_id: id }, body: { reason: reason || null } });
      onDone();
    } catch (failure) {
      setError(errorDetail(failure));
    }
  };
  return (
    <section aria-labelledby="restore-title">
      <h2 id="restore-title">Deleted</h2>
      <p>This device was deleted; its history stays readable.</p>
      <ErrorBox message={error} />
      {session.canWrite && (
        <button type="button" onClick={() => setAsking(true)}>
          Restore this device
        </button>
      )}
      {asking && (
        <Confirm title="Restore this device?" action="Restore" withReason onConfirm={(r) => void restore(r)} onCancel={() => setAsking(false)}>
          <p>It comes back with the attributes and status it had when it was deleted, and claims its MAC address again.</p>
        </Confirm>
      )}
    </section>
  );
}
