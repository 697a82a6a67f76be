// Staff sign-in shared by the staff pages (/map, /console): one sign-in for both. The access
// token lives in this tab's sessionStorage only (gone when the tab closes).

const TOKEN_KEY = "outreach.staffToken";

export function token(): string | null {
  return sessionStorage.getItem(TOKEN_KEY);
}

export function forget(): void {
  sessionStorage.removeItem(TOKEN_KEY);
}

/** Exchange a username and password for an access token, kept for this tab. */
export async function signIn(username: string, password: string): Promise<void> {
  const response = await fetch("/v1/auth/token", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ username, password }),
  });
  if (!response.ok) {
    throw new Error("Sign-in failed: check your username and password.");
  }
  const body = (await response.json()) as { access_token: string };
  sessionStorage.setItem(TOKEN_KEY, body.access_token);
}

/** Headers for a call to our API with the staff token. */
export function authHeaders(): Record<string, string> {
  const current = token();
  return current ? { Authorization: `Bearer ${current}` } : {};
}
