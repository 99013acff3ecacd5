// Who is using the console. The page's own config.json says how to sign in: locally it names no
// sign-in at all (the local API has none) and the scopes every call acts with (`make run
// LOCAL_SCOPES=devices/read` is a read-only operator; unset, every scope); in AWS it names the
// Cognito hosted UI, which this module drives with the authorization-code grant and PKCE (RFC 7636),
// so the browser holds no client secret. Write buttons appear only when the access token carries
// the write scope: the API would refuse the write anyway, and a button that always fails is a lie.

export interface SignIn {
  authorize_url: string;
  token_url: string;
  logout_url?: string;
  client_id: string;
  scopes: string[];
}

export interface ConsoleConfig {
  /** The API's base, relative to the console's own URL ("../" when served beside the API). */
  api: string;
  auth: SignIn | null;
  /** The scope the API's writes need. */
  write_scope: string;
  /** Without sign-in: the scopes the local API grants every call (null: all of them). */
  local_scopes?: string[] | null;
}

export interface Session {
  canWrite: boolean;
  token(): string | null;
  user: string | null;
  signOut: (() => void) | null;
}

const TOKEN_KEY = "registry-console.token";
const PENDING_KEY = "registry-console.pending";

export async function loadConfig(): Promise<ConsoleConfig> {
  const response = await fetch(new URL("config.json", location.href), { cache: "no-store" });
  if (!response.ok) throw new Error(`config.json answered ${response.status}`);
  return (await response.json()) as ConsoleConfig;
}

/** The session, or null when the browser is on its way to the sign-in page. */
export async function startSession(config: ConsoleConfig): Promise<Session | null> {
  const auth = config.auth;
  if (auth === null) {
    const granted = config.local_scopes ?? null;
    return { canWrite: granted === null || granted.includes(config.write_scope), token: () => null, user: null, signOut: null };
  }
  const returned = new URLSearchParams(location.search);
  if (returned.has("code")) await finishSignIn(auth, returned);
  const stored = readToken();
  if (stored === null) {
    await beginSignIn(auth);
    return null;
  }
  const claims = decodeClaims(stored.access_token);
  const scopes = String(claims.scope ?? "").split(" ");
  return {
    canWrite: scopes.includes(config.write_scope),
    token: () => readToken()?.access_token ?? null,
    user: typeof claims.username === "string" ? claims.username : null,
    signOut: () => {
      sessionStorage.removeItem(TOKEN_KEY);
      const logout = new URL(auth.logout_url ?? auth.authorize_url.replace("/oauth2/authorize", "/logout"));
      logout.searchParams.set("client_id", auth.client_id);
      logout.searchParams.set("logout_uri", redirectUri());
      location.assign(logout);
    },
  };
}

interface StoredToken {
  access_token: string;
  expires_at: number;
}

function readToken(): StoredToken | null {
  const text = sessionStorage.getItem(TOKEN_KEY);
  if (!text) return null;
  const token = JSON.parse(text) as StoredToken;
  // A minute's margin: a request sent with a token about to expire would be refused on arrival.
  return token.expires_at - 60_000 > Date.now() ? token : null;
}

function redirectUri(): string {
  return location.origin + location.pathname;
}

async function beginSignIn(auth: SignIn): Promise<void> {
  const verifier = randomText(32);
  const state = randomText(16);
  sessionStorage.setItem(PENDING_KEY, JSON.stringify({ verifier, state, hash: location.hash }));
  const challenge = base64url(new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier))));
  const url = new URL(auth.authorize_url);
  url.search = new URLSearchParams({
    response_type: "code",
    client_id: auth.client_id,
    redirect_uri: redirectUri(),
    scope: auth.scopes.join(" "),
    state,
    code_challenge: challenge,
    code_challenge_method: "S256",
  }).toString();
  location.assign(url);
}

async function finishSignIn(auth: SignIn, returned: URLSearchParams): Promise<void> {
  const pending = JSON.parse(sessionStorage.getItem(PENDING_KEY) ?? "null") as {
    verifier: string;
    state: string;
    hash: string;
  } | null;
  sessionStorage.removeItem(PENDING_KEY);
  if (pending === null || pending.state !== returned.get("state")) throw new Error("The sign-in answer does not match the sign-in this page started; reload to sign in again.");
  const response = await fetch(auth.token_url, {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({
      grant_type: "authorization_code",
      client_id: auth.client_id,
      code: returned.get("code") ?? "",
      redirect_uri: redirectUri(),
      code_verifier: pending.verifier,
    }),
  });
  if (!response.ok) throw new Error(`Sign-in failed: the token endpoint answered ${response.status}.`);
  const token = (await response.json()) as { access_token: string; expires_in: number };
  const stored: StoredToken = { access_token: token.access_token, expires_at: Date.now() + token.expires_in * 1000 };
  sessionStorage.setItem(TOKEN_KEY, JSON.stringify(stored));
  history.replaceState(null, "", redirectUri() + pending.hash);
}

function decodeClaims(jwt: string): Record<string, unknown> {
  const payload = jwt.split(".")[1] ?? "";
  const json = atob(payload.replace(/-/g, "+").replace(/_/g, "/"));
  return JSON.parse(json) as Record<string, unknown>;
}

function randomText(bytes: number): string {
  return base64url(crypto.getRandomValues(new Uint8Array(bytes)));
}

function base64url(bytes: Uint8Array): string {
  return btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}
