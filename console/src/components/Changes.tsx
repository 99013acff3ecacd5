import type { FieldChange } from "../api";

export function show(value: unknown): string {
  if (value === null || value === undefined) return "—";
  if (Array.isArray(value)) return value.length ? value.join(", ") : "(none)";
  if (typeof value === "object") return JSON.stringify(value);
  return String(value);
}

/** `{field: {old, new}}`, as history entries and diffs answer it: one row per field. */
export function ChangesTable({ changes, caption }: { changes: Record<string, FieldChange>; caption: string }) {
  const fields = Object.keys(changes).sort();
  if (fields.length === 0) return <p class="muted">No differences.</p>;
  return (
    <table class="changes">
      <caption class="visually-hidden">{caption}</caption>
      <thead>
        <tr>
          <th scope="col">Field</th>
          <th scope="col">Before</th>
          <th scope="col">After</th>
        </tr>
      </thead>
      <tbody>
        {fields.map((field) => (
          <tr key={field}>
            <th scope="row">
              <code>{field}</code>
            </th>
            <td class="old">{show(changes[field]?.old)}</td>
            <td class="new">{show(changes[field]?.new)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
