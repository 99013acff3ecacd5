/** Counts as a table whose last column draws each count as a bar: a chart that a screen reader
 * reads as the table it is. */
export function BarChart({
  title,
  counts,
  link,
}: {
  title: string;
  counts: Record<string, number>;
  link: (value: string) => string;
}) {
  const rows = Object.entries(counts).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
  const largest = Math.max(1, ...rows.map(([, n]) => n));
  return (
    <table class="bars">
      <caption>{title}</caption>
      <thead>
        <tr>
          <th scope="col">Value</th>
          <th scope="col">Devices</th>
          <th scope="col" class="visually-hidden">
            Share
          </th>
        </tr>
      </thead>
      <tbody>
        {rows.length === 0 && (
          <tr>
            <td colSpan={3} class="muted">
              No devices
            </td>
          </tr>
        )}
        {rows.map(([value, count]) => (
          <tr key={value}>
            <th scope="row">
              <a href={link(value)}>{value}</a>
            </th>
            <td class="number">{count}</td>
            <td class="bar-cell" aria-hidden="true">
              <span class={`bar status-${value}`} style={{ width: `${(100 * count) / largest}%` }} />
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
