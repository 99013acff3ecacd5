import { useState } from "preact/hooks";
import { type Schemas, errorDetail } from "../api";
import { Confirm } from "../components/Confirm";
import { ErrorBox } from "../components/Problem";
import { useConsole } from "../context";
import { useLoad } from "../load";
import { shortTime } from "../time";

/** A device's own credentials (for `Authorization: Device …`): listed without secrets; a new one's
 * secret is shown once, as the API answers it once; revoking asks first. */
export function Credentials({ id }: { id: string }) {
  const { api, session } = useConsole();
  const list = useLoad(() => api.get("/devices/{device_id}/credentials", { path: { device_id: id } }).then((r) => r.body.items), [id]);
  const [created, setCreated] = useState<Schemas["CredentialCreated"] | null>(null);
  const [revoking, setRevoking] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const create = async () => {
    setError(null);
    try {
      const answer = await api.call("post", "/devices/{device_id}/credentials", { path: { device_id: id }, body: {} });
      setCreated(answer.body);
      list.reload();
    } catch (failure) {
      setError(errorDetail(failure));
    }
  };
  const revoke = async (credential: string) => {
    setRevoking(null);
    setError(null);
    try {
      await api.call("delete", "/devices/{device_id}/credentials/{credential_id}", {
        path: { device_id: id, credential_id: credential },
      });
      if (created?.credential_id === credential) setCreated(null);
      list.reload();
    } catch (failure) {
      setError(errorDetail(failure));
    }
  };
  return (
    <section aria-labelledby="credentials-title">
      <h2 id="credentials-title">Device credentials</h2>
      <ErrorBox message={error ?? list.error} />
      {created && (
        <div class="secret" role="status">
          <p>
            <strong>Copy the secret now: it is shown only once.</strong> The device sends{" "}
            <code>Authorization: Device {created.credential_id}:{"<secret>"}</code>.
          </p>
          <p>
            <label for="new-secret">Secret of {created.credential_id}</label>
            <input id="new-secret" readOnly value={created.secret} size={48} onFocus={(e) => e.currentTarget.select()} />
          </p>
          <button type="button" onClick={() => setCreated(null)}>
            I have copied it
          </button>
        </div>
      )}
      {list.data && list.data.length === 0 && <p class="muted">No credentials.</p>}
      {list.data && list.data.length > 0 && (
        <table>
          <caption class="visually-hidden">Credentials of this device</caption>
          <thead>
            <tr>
              <th scope="col">Credential</th>
              <th scope="col">Created</th>
              <th scope="col">Last used</th>
              {session.canWrite && <th scope="col">Action</th>}
            </tr>
          </thead>
          <tbody>
            {list.data.map((credential) => (
              <tr key={credential.credential_id}>
                <td>
                  <code>{credential.credential_id}</code>
                </td>
                <td>{shortTime(credential.created_at)}</td>
                <td>{shortTime(credential.last_used_at)}</td>
                {session.canWrite && (
                  <td>
                    <button type="button" class="danger" onClick={() => setRevoking(credential.credential_id)}>
                      Revoke <span class="visually-hidden">{credential.credential_id}</span>
                    </button>
                  </td>
                )}
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {session.canWrite && (
        <button type="button" onClick={() => void create()}>
          Create a credential
        </button>
      )}
      {revoking && (
        <Confirm title="Revoke this credential?" action="Revoke" onConfirm={() => void revoke(revoking)} onCancel={() => setRevoking(null)}>
          <p>
            The device stops being able to report with <code>{revoking}</code>.
          </p>
        </Confirm>
      )}
    </section>
  );
}
