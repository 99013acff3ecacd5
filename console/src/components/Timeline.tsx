import { STATUS_VALUES } from "../fields";
import { duration, shortTime } from "../time";

export interface Segment {
  status: string;
  from: number;
  until: number;
}

/** The status in force over [start, end): `initial` (null: not registered yet) until the first
 * change, then each change's new status until the next. */
export function segments(
  initial: string | null,
  changes: { at: string; status: string }[],
  start: number,
  end: number,
): Segment[] {
  const result: Segment[] = [];
  let status = initial ?? "not registered";
  let from = start;
  for (const change of changes) {
    const at = Math.min(Math.max(Date.parse(change.at), start), end);
    if (at > from) result.push({ status, from, until: at });
    status = change.status;
    from = Math.max(from, at);
  }
  if (end > from) result.push({ status, from, until: end });
  return result;
}

const WIDTH = 1000;
const HEIGHT = 36;

/** The device's status over a range as one coloured band, with a table of the time spent in each
 * status (what a screen reader reads) and each segment's span in its tooltip. */
export function StatusTimeline({ parts, start, end }: { parts: Segment[]; start: number; end: number }) {
  const span = Math.max(1, end - start);
  const totals = new Map<string, number>();
  for (const part of parts) totals.set(part.status, (totals.get(part.status) ?? 0) + part.until - part.from);
  const order = [...totals.keys()].sort(
    (a, b) => statusRank(a) - statusRank(b) || a.localeCompare(b),
  );
  return (
    <figure class="timeline">
      <svg
        viewBox={`0 0 ${WIDTH} ${HEIGHT}`}
        preserveAspectRatio="none"
        role="img"
        aria-label={`Status from ${shortTime(new Date(start).toISOString())} to ${shortTime(new Date(end).toISOString())}: ${parts.length} periods`}
        data-testid="timeline"
      >
        {parts.map((part) => (
          <rect
            key={`${part.from}-${part.status}`}
            class={`status-${part.status.replace(" ", "-")}`}
            x={((part.from - start) / span) * WIDTH}
            width={Math.max(1, ((part.until - part.from) / span) * WIDTH)}
            y={0}
            height={HEIGHT}
          >
            <title>
              {part.status}: {shortTime(new Date(part.from).toISOString())} – {shortTime(new Date(part.until).toISOString())}
            </title>
          </rect>
        ))}
      </svg>
      <div class="axis" aria-hidden="true">
        <span>{shortTime(new Date(start).toISOString())}</span>
        <span>{shortTime(new Date(end).toISOString())}</span>
      </div>
      <figcaption>
        <table class="legend">
          <caption class="visually-hidden">Time in each status</caption>
          <thead>
            <tr>
              <th scope="col">Status</th>
              <th scope="col">Time</th>
              <th scope="col">Share</th>
            </tr>
          </thead>
          <tbody>
            {order.map((status) => (
              <tr key={status}>
                <th scope="row">
                  <span class={`swatch status-${status.replace(" ", "-")}`} aria-hidden="true" /> {status}
                </th>
                <td>{duration(totals.get(status) ?? 0)}</td>
                <td>{Math.round((100 * (totals.get(status) ?? 0)) / span)} %</td>
              </tr>
            ))}
          </tbody>
        </table>
      </figcaption>
    </figure>
  );
}

function statusRank(status: string): number {
  const index = (STATUS_VALUES as readonly string[]).indexOf(status);
  return index === -1 ? STATUS_VALUES.length : index;
}
