import { useState } from "preact/hooks";
import { ErrorBox, Loading } from "../components/Problem";
import { useConsole } from "../context";
import { useLoad } from "../load";
import { href, type Location, navigate } from "../router";
import { shortTime } from "../time";

const KINDS = {
  mac: { label: "MAC address", path: "/mac-addresses/{mac}/holders" },
  ip: { label: "IP address", path: "/ip-addresses/{ip}/holders" },
} as const;
type Kind = keyof typeof KINDS;

/** Which devices held an address, and when (newest first): the address is in the page's address. */
export function HoldersPage({ where }: { where: Location }) {
  const kind: Kind = where.query.get("kind") === "ip" ? "ip" : "mac";
  const address = where.query.get("address") ?? "";
  const [draft, setDraft] = useState({ kind, address });
  return (
    <>
      <h1>Address holders</h1>
      <form
        class="inline"
        onSubmit={(event) => {
          event.preventDefault();
          navigate("/holders", draft);
        }}
      >
        <label for="holders-kind">Address kind</label>
        <select id="holders-kind" value={draft.kind} onChange={(e) => setDraft({ ...draft, kind: e.currentTarget.value as Kind })}>
          {Object.entries(KINDS).map(([value, { label }]) => (
            <option key={value} value={value}>
              {label}
            </option>
          ))}
        </select>
        <label for="holders-address">Address</label>
        <input id="holders-address" value={draft.address} placeholder="any spelling" required onInput={(e) => setDraft({ ...draft, address: e.currentTarget.value })} />
        <button type="submit">Look up</button>
      </form>
      {address && <HolderList key={`${kind}:${address}`} kind={kind} address={address} />}
    </>
  );
}

function HolderList({ kind, address }: { kind: Kind; address: string }) {
  const { api } = useConsole();
  const [cursors, setCursors] = useState<(string | undefined)[]>([undefined]);
  const holders = useLoad(async () => {
    const items = [];
    let next: string | null = null;
    for (const cursor of cursors) {
      const page =
        kind === "mac"
          ? await api.get(KINDS.mac.path, { path: { mac: address }, query: { cursor } })
          : await api.get(KINDS.ip.path, { path: { ip: address }, query: { cursor } });
      items.push(...page.body.items);
      next = page.body.next_cursor;
    }
    return { items, next };
  }, [cursors.join(",")]);
  return (
    <section aria-labelledby="holders-title">
      <h2 id="holders-title">
        Holders of {KINDS[kind].label} <code>{address}</code>
      </h2>
      <ErrorBox message={holders.error} />
      {holders.loading && <Loading what="holders" />}
      {holders.data && holders.data.items.length === 0 && <p class="muted">No device ever held it.</p>}
      {holders.data && holders.data.items.length > 0 && (
        <table>
          <caption class="visually-hidden">Devices that held the address</caption>
          <thead>
            <tr>
              <th scope="col">Device</th>
              <th scope="col">From</th>
              <th scope="col">Until</th>
            </tr>
          </thead>
          <tbody>
            {holders.data.items.map((holder) => (
              <tr key={`${holder.device_id}${holder.from}`}>
                <td>
                  <a href={href(`/devices/${holder.device_id}`)}>
                    <code>{holder.device_id}</code>
                  </a>
                </td>
                <td>{shortTime(holder.from)}</td>
                <td>{holder.until ? shortTime(holder.until) : "holds it now"}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {holders.data?.next && (
        <button type="button" onClick={() => setCursors([...cursors, holders.data?.next ?? undefined])}>
          Older holders
        </button>
      )}
    </section>
  );
}
