import { useState, type FormEvent } from "react";
import { ApiError, request, setToken } from "../api/client";
import { Field } from "../components/Field";
import styles from "./SignIn.module.css";

/**
 * Shown when the API answers 401: takes a bearer token, checks it against
 * the server, and keeps it in sessionStorage for this browser session.
 */
export function SignIn({ onSignedIn, expired }: { onSignedIn: () => void; expired: boolean }) {
  const [token, setTokenText] = useState("");
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const t = token.trim().replace(/^Bearer\s+/i, "");
    if (!t) {
      setError("paste a token");
      return;
    }
    setBusy(true);
    setError(undefined);
    try {
      await request("GET", "/system/status", { token: t });
      setToken(t);
      onSignedIn();
    } catch (err) {
      setError(
        err instanceof ApiError && err.status === 401
          ? "The server refused this token (expired, or signed with another secret)."
          : (err as Error).message,
      );
      setBusy(false);
    }
  };

  return (
    <div className={styles.page}>
      <form className={`card ${styles.box}`} onSubmit={submit} data-testid="sign-in">
        <div className={styles.brand}>
          <img src="/favicon.svg" alt="" width={32} height={32} />
          <span>Scheduler</span>
        </div>
        <h1>Sign in</h1>
        <p className="muted" style={{ margin: 0 }}>
          {expired
            ? "Your session has ended or the token was refused. Paste a new API token."
            : "This server requires an API token."}
        </p>
        <Field
          label="API token"
          error={error}
          name="token"
          hint={
            <>
              It is kept for this browser tab only. An operator mints one with
              <code className={styles.command}>scheduler-server token --subject you --ttl 8h</code>
            </>
          }
        >
          <textarea
            className="textarea"
            style={{ minHeight: 96 }}
            spellCheck={false}
            autoFocus
            placeholder="eyJhbGciOiJIUzI1NiIs…"
            value={token}
            onChange={(e) => setTokenText(e.target.value)}
          />
        </Field>
        <button type="submit" className="btn btn-primary" disabled={busy}>
          {busy ? "Checking…" : "Sign in"}
        </button>
      </form>
    </div>
  );
}
