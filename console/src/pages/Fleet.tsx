import { useState } from "preact/hooks";
import type { DeviceSummary, Query } from "../api";
import { BarChart } from "../components/BarChart";
import { FilterFields, type Filters } from "../components/FilterFields";
import { ErrorBox, Loading } from "../components/Problem";
import { useConsole } from "../context";
import { FLEET_FILTERS, STAT_GROUPS } from "../fields";
import { useLoad } from "../load";
import { href, type Location, navigate } from "../router";
import { shortTime } from "../time";

const PAGE_SIZES = [10, 25, 50, 100];
const DEFAULT_LIMIT = 25;


function filtersOf(query: URLSearchParams): Filters {
  const filters: Filters = {};
  for (const filter of FLEET_FILTERS) {
    const value = query.get(filter.name);
    if (value) filters[filter.name] = value;
  }
  return filters;
}

/** The fleet: its counts (`/devices/stats`), and a page of `GET /devices` under the filters in
 * the address (so a filtered page can be bookmarked and Back goes to the previous page). */
export function FleetPage({ where }: { where: Location }) {
  const filters = filtersOf(where.query);
  const limit = Number(where.query.get("limit")) || DEFAULT_LIMIT;
  const cursor = where.query.get("cursor");
  // The cursors of the pages before this one, so "Previous page" needs no request of its own.
  const trail = where.query.get("trail")?.split(" ").filter(Boolean) ?? [];
  return (
    <>
      <h1>Fleet</h1>
      <Stats />
      <FilterForm key={JSON.stringify([filters, limit])} filters={filters} limit={limit} />
      <DeviceList filters={filters} limit={limit} cursor={cursor} trail={trail} />
    </>
  );
}

function Stats() {
  const { api } = useConsole();
  const stats = useLoad(() => api.get("/devices/stats").then((r) => r.body), []);
  return (
    <section aria-labelledby="stats-title">
      <h2 id="stats-title">
        Counts{stats.data && <span class="muted"> — {stats.data.total} devices, as of {shortTime(stats.data.as_of)}</span>}
      </h2>
      <ErrorBox message={stats.error} />
      {stats.loading && !stats.data && <Loading what="counts" />}
      {stats.data && (
        <div class="charts">
          {STAT_GROUPS.map((group) => (
            <BarChart
              key={group.key}
              title={group.label}
              counts={stats.data?.[group.key] ?? {}}
              link={(value) => href("/", { [group.filter]: value })}
            />
          ))}
        </div>
      )}
    </section>
  );
}

function FilterForm({ filters, limit }: { filters: Filters; limit: number }) {
  const [draft, setDraft] = useState<Filters>(filters);
  const [size, setSize] = useState(limit);
  const apply = (values: Filters, pageSize: number) => navigate("/", { ...values, limit: pageSize === DEFAULT_LIMIT ? null : pageSize });
  return (
    <form
      class="filters"
      aria-labelledby="filters-title"
      onSubmit={(event) => {
        event.preventDefault();
        apply(draft, size);
      }}
    >
      <h2 id="filters-title">Filters</h2>
      <div class="grid">
        <FilterFields prefix="filter" values={draft} onChange={setDraft} />
        <p>
          <label for="filter-limit">Per page</label>
          <select id="filter-limit" value={String(size)} onChange={(e) => setSize(Number(e.currentTarget.value))}>
            {PAGE_SIZES.map((n) => (
              <option key={n} value={String(n)}>
                {n}
              </option>
            ))}
          </select>
        </p>
      </div>
      <p class="actions">
        <button type="submit">Apply filters</button>
        <button
          type="button"
          onClick={() => {
            setDraft({});
            apply({}, size);
          }}
        >
          Clear
        </button>
      </p>
    </form>
  );
}

function DeviceList({
  filters,
  limit,
  cursor,
  trail,
}: {
  filters: Filters;
  limit: number;
  cursor: string | null;
  trail: string[];
}) {
  const { api } = useConsole();
  const key = JSON.stringify([filters, limit, cursor]);
  const page = useLoad(() => {
    const query: Query<"/devices"> = { ...filters, limit, cursor: cursor ?? undefined } as Query<"/devices">;
    return api.get("/devices", { query }).then((r) => r.body);
  }, [key]);
  const here = { ...filters, limit: limit === DEFAULT_LIMIT ? null : limit };
  const next = page.data?.next_cursor;
  // `trail` holds "-" for the first page (no cursor).
  const previous = trail.length ? trail[trail.length - 1] : null;
  return (
    <section aria-labelledby="devices-title">
      <h2 id="devices-title">Devices {trail.length > 0 && <span class="muted">— page {trail.length + 1}</span>}</h2>
      <ErrorBox message={page.error} />
      {page.loading && <Loading what="devices" />}
      {page.data && !page.loading && (
        <>
          <table class="devices">
            <caption class="visually-hidden">Devices matching the filters</caption>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Type</th>
                <th scope="col">MAC address</th>
                <th scope="col">Status</th>
                <th scope="col">Liveness</th>
                <th scope="col">Last seen</th>
              </tr>
            </thead>
            <tbody>
              {/* The console asks for the summary view (the default), never view=detail. */}
              {(page.data.items as DeviceSummary[]).map((device) => (
                <tr key={device.id}>
                  <td>
                    <a href={href(`/devices/${device.id}`)}>{device.name}</a>
                  </td>
                  <td>{device.device_type}</td>
                  <td>
                    <code>{device.mac_address}</code>
                  </td>
                  <td>
                    <span class={`pill status-${device.status}`}>{device.status}</span>
                  </td>
                  <td>
                    <span class={`pill liveness-${device.liveness}`}>{device.liveness}</span>
                  </td>
                  <td>{shortTime(device.last_seen_at)}</td>
                </tr>
              ))}
            </tbody>
          </table>
          {page.data.items.length === 0 && (
            <p class="muted" role="status">
              {next ? "No matches on this page; more of the fleet remains to be searched." : "No devices match."}
            </p>
          )}
        </>
      )}
      <nav class="pager" aria-label="Pages">
        {previous !== null && (
          <a
            href={href("/", {
              ...here,
              cursor: previous === "-" ? null : previous,
              trail: trail.slice(0, -1).join(" ") || null,
            })}
          >
            ← Previous page
          </a>
        )}
        {next && (
          <a href={href("/", { ...here, cursor: next, trail: [...trail, cursor ?? "-"].join(" ") })} rel="next">
            Next page →
          </a>
        )}
      </nav>
    </section>
  );
}
