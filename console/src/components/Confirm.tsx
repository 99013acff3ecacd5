import type { ComponentChildren } from "preact";
import { useEffect, useRef, useState } from "preact/hooks";

/** A modal question (the native <dialog>: focus stays inside, Escape cancels) with an optional
 * reason, for the writes that cannot be taken back with a click. */
export function Confirm({
  title,
  children,
  action,
  withReason,
  onConfirm,
  onCancel,
}: {
  title: string;
  children: ComponentChildren;
  action: string;
  withReason?: boolean;
  onConfirm: (reason: string) => void;
  onCancel: () => void;
}) {
  const dialog = useRef<HTMLDialogElement>(null);
  const [reason, setReason] = useState("");
  useEffect(() => {
    dialog.current?.showModal();
  }, []);
  return (
    <dialog ref={dialog} aria-labelledby="confirm-title" onCancel={onCancel} onClose={onCancel}>
      <form
        method="dialog"
        onSubmit={(event) => {
          event.preventDefault();
          onConfirm(reason.trim());
        }}
      >
        <h2 id="confirm-title">{title}</h2>
        {children}
        {withReason && (
          <p>
            <label for="confirm-reason">Reason (optional, kept in the history)</label>
            <input id="confirm-reason" maxLength={256} value={reason} onInput={(e) => setReason(e.currentTarget.value)} />
          </p>
        )}
        <p class="actions">
          <button type="submit" class="danger">
            {action}
          </button>
          <button type="button" onClick={onCancel}>
            Cancel
          </button>
        </p>
      </form>
    </dialog>
  );
}
