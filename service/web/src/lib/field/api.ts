// Calls to our API from the phone: a short access token kept in memory, renewed with the
// device's refresh token (sealed in the vault, replaced at every use). A 401 on the refresh
// means the device was revoked (or the worker deactivated): the app wipes itself.
import type { Vault } from "./vault";

export interface Session {
  device_id: string;
  refresh_token: string;
  username: string;
}

export class Revoked extends Error {}
export class Offline extends Error {}

interface DeviceTokens {
  device_id: string;
  access_token: string;
  refresh_token: string;
  expires_in: number;
}

async function post(path: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  try {
    return await fetch(path, {
      method: "POST",
      headers: { "Content-Type": "application/json", ...headers },
      body: JSON.stringify(body),
    });
  } catch {
    throw new Offline("offline");
  }
}

/** Sign in with a password, then register this phone: the device's tokens. */
export async function signInAndRegister(
  username: string,
  password: string,
  label: string,
): Promise<{ session: Session; access: string; expires_in: number }> {
  const signIn = await post("/v1/auth/token", { username, password });
  if (signIn.status === 401) {
    throw new Error("Wrong username or password.");
  }
  if (!signIn.ok) {
    throw new Error(signIn.status === 429 ? "Too many tries: wait a little." : "Sign-in failed.");
  }
  const { access_token } = (await signIn.json()) as { access_token: string };
  const registered = await post("/v1/devices", { label }, { Authorization: `Bearer ${access_token}` });
  if (!registered.ok) {
    throw new Error("This phone could not be registered.");
  }
  const tokens = (await registered.json()) as DeviceTokens;
  return {
    session: { device_id: tokens.device_id, refresh_token: tokens.refresh_token, username },
    access: tokens.access_token,
    expires_in: tokens.expires_in,
  };
}

export interface Access {
  token: string;
  until: number;
}

/** Keep the access token (sealed, like the refresh token) so that reopening the app within
 * its lifetime needs no refresh. */
export async function keepAccess(vault: Vault, tokens: { access_token: string; expires_in: number }): Promise<void> {
  const access: Access = { token: tokens.access_token, until: Date.now() + (tokens.expires_in - 30) * 1000 };
  await vault.put("access", access);
}

/** The kept access token while it is still valid. */
export async function keptAccess(vault: Vault): Promise<string | null> {
  const access = await vault.get<Access>("access");
  return access && access.until > Date.now() ? access.token : null;
}

export class Api {
  private access: string | null;
  private renewing: Promise<void> | null = null;

  constructor(
    private readonly vault: Vault,
    private session: Session,
    access: string | null,
    private readonly onRevoked: () => void,
  ) {
    this.access = access;
  }

  private async renew(): Promise<void> {
    this.renewing ??= (async () => {
      const response = await post("/v1/auth/refresh", { refresh_token: this.session.refresh_token });
      if (response.status === 401) {
        this.onRevoked();
        throw new Revoked("this phone was signed out");
      }
      if (!response.ok) {
        throw new Offline(`refresh answered ${response.status}`);
      }
      const tokens = (await response.json()) as DeviceTokens;
      // Keep the new refresh token before using the access token: the old one works only
      // until the new one has been used.
      this.session = { ...this.session, refresh_token: tokens.refresh_token };
      await this.vault.put("session", this.session);
      this.access = tokens.access_token;
      await keepAccess(this.vault, tokens);
    })().finally(() => {
      this.renewing = null;
    });
    return this.renewing;
  }

  /** A call with the access token, renewed once when it has expired. Network failures
   * raise :class:`Offline`; a revoked device raises :class:`Revoked` after the wipe. */
  async fetch(path: string, init: RequestInit = {}): Promise<Response> {
    if (this.access === null) {
      await this.renew();
    }
    for (let attempt = 0; ; attempt++) {
      const headers = new Headers(init.headers);
      headers.set("Authorization", `Bearer ${this.access}`);
      let response: Response;
      try {
        response = await fetch(path, { ...init, headers });
      } catch {
        throw new Offline("offline");
      }
      if (response.status !== 401 || attempt > 0) {
        if (response.status === 401) {
          this.onRevoked();
          throw new Revoked("this phone was signed out");
        }
        return response;
      }
      await this.renew();
    }
  }

  async json<T>(path: string): Promise<T> {
    const response = await this.fetch(path);
    if (!response.ok) {
      throw new Error(`${path} answered ${response.status}`);
    }
    return (await response.json()) as T;
  }
}
