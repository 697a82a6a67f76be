// The phone's encrypted store: IndexedDB (through idb) holding only AES-GCM ciphertext under a
// key derived from the worker's PIN with PBKDF2 (WebCrypto). The key is non-extractable and
// lives in memory while the app is unlocked; what is stored beside the data is the salt, a
// sealed check value and the count of wrong PINs, none of which reveals the key.
import { type DBSchema, deleteDB, type IDBPDatabase, openDB } from "idb";

const DB_NAME = "outreach-field";
const PBKDF2_ITERATIONS = 310_000;
const CHECK = "outreach-field-check";
export const MAX_PIN_FAILURES = 5;

export interface Sealed {
  iv: Uint8Array;
  data: ArrayBuffer;
}

interface Meta {
  salt?: Uint8Array;
  check?: Sealed;
  failures?: number;
  iterations?: number;
}

interface FieldSchema extends DBSchema {
  meta: { key: string; value: Meta[keyof Meta] };
  sealed: { key: string; value: Sealed };
  outbox: { key: string; value: Sealed };
}

let db: Promise<IDBPDatabase<FieldSchema>> | null = null;

function open(): Promise<IDBPDatabase<FieldSchema>> {
  db ??= openDB<FieldSchema>(DB_NAME, 1, {
    upgrade(database) {
      database.createObjectStore("meta");
      database.createObjectStore("sealed");
      database.createObjectStore("outbox");
    },
    blocking() {
      // Another tab wipes or upgrades: let it.
      void close();
    },
  });
  return db;
}

async function close(): Promise<void> {
  if (db) {
    (await db).close();
    db = null;
  }
}

async function derive(pin: string, salt: Uint8Array, iterations: number): Promise<CryptoKey> {
  const material = await crypto.subtle.importKey("raw", new TextEncoder().encode(pin), "PBKDF2", false, ["deriveKey"]);
  return crypto.subtle.deriveKey(
    { name: "PBKDF2", hash: "SHA-256", salt: salt as BufferSource, iterations },
    material,
    { name: "AES-GCM", length: 256 },
    false, // never extractable
    ["encrypt", "decrypt"],
  );
}

async function seal(key: CryptoKey, value: unknown): Promise<Sealed> {
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const plain = new TextEncoder().encode(JSON.stringify(value));
  return { iv, data: await crypto.subtle.encrypt({ name: "AES-GCM", iv: iv as BufferSource }, key, plain) };
}

async function unseal<T>(key: CryptoKey, sealed: Sealed): Promise<T> {
  const plain = await crypto.subtle.decrypt({ name: "AES-GCM", iv: sealed.iv as BufferSource }, key, sealed.data);
  return JSON.parse(new TextDecoder().decode(plain)) as T;
}

/** Whether this phone has a PIN (and so holds data sealed under it). */
export async function hasPin(): Promise<boolean> {
  return (await (await open()).get("meta", "salt")) !== undefined;
}

export type UnlockResult = { key: CryptoKey } | { wrong: number } | { wiped: true };

/** A vault bound to a key: every read and write goes through AES-GCM. */
export class Vault {
  constructor(private readonly key: CryptoKey) {}

  async get<T>(name: string): Promise<T | undefined> {
    const sealed = await (await open()).get("sealed", name);
    return sealed ? unseal<T>(this.key, sealed) : undefined;
  }

  async put(name: string, value: unknown): Promise<void> {
    await (await open()).put("sealed", await seal(this.key, value), name);
  }

  async outbox<T>(): Promise<T[]> {
    const all = await (await open()).getAll("outbox");
    return Promise.all(all.map((sealed) => unseal<T>(this.key, sealed)));
  }

  async putOutbox(id: string, value: unknown): Promise<void> {
    await (await open()).put("outbox", await seal(this.key, value), id);
  }

  /** Several outbox items in one transaction (sealed first, in parallel). */
  async putOutboxMany(items: { id: string }[]): Promise<void> {
    const sealed = await Promise.all(items.map((item) => seal(this.key, item)));
    const tx = (await open()).transaction("outbox", "readwrite");
    await Promise.all([...sealed.map((value, n) => tx.store.put(value, items[n].id)), tx.done]);
  }

  async deleteOutbox(id: string): Promise<void> {
    await (await open()).delete("outbox", id);
  }
}

/** Set the PIN on first use: a fresh salt, and a check value sealed under the derived key. */
export async function setPin(pin: string): Promise<Vault> {
  const salt = crypto.getRandomValues(new Uint8Array(16));
  const key = await derive(pin, salt, PBKDF2_ITERATIONS);
  const database = await open();
  const check = await seal(key, CHECK);
  const tx = database.transaction("meta", "readwrite");
  await Promise.all([
    tx.store.put(salt, "salt"),
    tx.store.put(check, "check"),
    tx.store.put(PBKDF2_ITERATIONS, "iterations"),
    tx.store.put(0, "failures"),
    tx.done,
  ]);
  return new Vault(key);
}

/** Try a PIN: the vault, or how many tries are left, or (after the fifth wrong PIN) a wipe. */
export async function unlock(pin: string): Promise<{ vault: Vault } | { left: number } | { wiped: true }> {
  const database = await open();
  const salt = (await database.get("meta", "salt")) as Uint8Array | undefined;
  const check = (await database.get("meta", "check")) as Sealed | undefined;
  const iterations = ((await database.get("meta", "iterations")) as number | undefined) ?? PBKDF2_ITERATIONS;
  if (!salt || !check) {
    return { wiped: true };
  }
  const key = await derive(pin, salt, iterations);
  try {
    if ((await unseal<string>(key, check)) === CHECK) {
      await database.put("meta", 0, "failures");
      return { vault: new Vault(key) };
    }
  } catch {
    // a wrong key fails GCM's authentication
  }
  const failures = (((await database.get("meta", "failures")) as number | undefined) ?? 0) + 1;
  if (failures >= MAX_PIN_FAILURES) {
    await wipe();
    return { wiped: true };
  }
  await database.put("meta", failures, "failures");
  return { left: MAX_PIN_FAILURES - failures };
}

/** Erase everything this app stored on the phone. */
export async function wipe(): Promise<void> {
  await close();
  await deleteDB(DB_NAME);
}
