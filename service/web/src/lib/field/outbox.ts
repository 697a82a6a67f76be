// The outbox: every record is saved here first (sealed in the vault, with the id the server
// will know it by), then sent in the background: contacts in batches to
// POST /v1/contacts:batch with an Idempotency-Key fixed before the first try (a resend after
// a lost answer is the same request), attempts and outcomes to their referral's routes. Each
// item keeps the server's answer: sent, a conflict to review, or rejected with the reason.
import { type Api, Offline, Revoked } from "./api";
import type { Vault } from "./vault";

export type Kind = "contact" | "attempt" | "outcome";
export type State = "waiting" | "sent" | "conflict" | "rejected";

export interface Item {
  id: string;
  kind: Kind;
  referral_id: string | null;
  body: Record<string, unknown>;
  label: string;
  state: State;
  result: string;
  batch: string | null;
  alone: boolean;
  saved_at: string;
  sent_at: string | null;
}

interface ItemResult {
  id: string;
  result: "created" | "duplicate" | "conflict" | "rejected";
  problem?: { detail: string; title: string } | null;
}

const BATCH_SIZE = 200;
const MAX_DELAY_S = 300;

function problemText(body: unknown, status: number): string {
  const problem = body as { detail?: string; title?: string } | null;
  return problem?.detail || problem?.title || `the server answered ${status}`;
}

export class Outbox {
  private running: Promise<void> | null = null;
  private cache: Map<string, Item> | null = null;
  private again = false;
  private failures = 0;
  private timer: number | undefined;
  lastError = "";

  constructor(
    private readonly vault: Vault,
    private readonly api: Api,
    private readonly changed: () => void,
  ) {}

  /** Every item, oldest first: read (and decrypted) from the vault once, then kept in
   * memory beside it while the app is unlocked. */
  async items(): Promise<Item[]> {
    if (this.cache === null) {
      const all = await this.vault.outbox<Item>();
      this.cache = new Map(all.map((item) => [item.id, item]));
    }
    return [...this.cache.values()].sort((a, b) => a.saved_at.localeCompare(b.saved_at) || a.id.localeCompare(b.id));
  }

  /** How many items are in each state, from memory (null before the first read): cheap
   * enough to show at once whenever something changes. */
  counts(): Record<State, number> | null {
    if (this.cache === null) {
      return null;
    }
    const counts: Record<State, number> = { waiting: 0, sent: 0, conflict: 0, rejected: 0 };
    for (const item of this.cache.values()) {
      counts[item.state] += 1;
    }
    return counts;
  }

  private async save(items: Item[]): Promise<void> {
    await this.items();
    await this.vault.putOutboxMany(items);
    for (const item of items) {
      this.cache?.set(item.id, item);
    }
  }

  private async remove(id: string): Promise<void> {
    await this.items();
    await this.vault.deleteOutbox(id);
    this.cache?.delete(id);
  }

  async add(kind: Kind, body: Record<string, unknown>, label: string, referralId: string | null): Promise<Item> {
    const id = typeof body.id === "string" ? body.id : crypto.randomUUID();
    const item: Item = {
      id,
      kind,
      referral_id: referralId,
      body,
      label,
      state: "waiting",
      result: "",
      batch: null,
      alone: false,
      saved_at: new Date().toISOString(),
      sent_at: null,
    };
    await this.save([item]);
    this.changed();
    this.soon(0);
    return item;
  }

  /** A conflict the worker keeps: the same content under a new id, sent again. */
  async keepAsNew(item: Item): Promise<void> {
    const id = crypto.randomUUID();
    await this.add(item.kind, { ...item.body, id }, item.label, item.referral_id);
    await this.remove(item.id);
    this.changed();
  }

  async drop(item: Item): Promise<void> {
    await this.remove(item.id);
    this.changed();
  }

  /** Forget what was sent longer ago than ``ageMs`` (the server has it). */
  async prune(ageMs: number): Promise<void> {
    const before = new Date(Date.now() - ageMs).toISOString();
    for (const item of await this.items()) {
      if (item.state === "sent" && item.sent_at !== null && item.sent_at < before) {
        await this.remove(item.id);
      }
    }
  }

  /** Send soon: now when asked (saved, back online), otherwise after the backoff. */
  soon(delayMs: number): void {
    window.clearTimeout(this.timer);
    this.timer = window.setTimeout(() => void this.run(), delayMs);
  }

  stop(): void {
    window.clearTimeout(this.timer);
  }

  /** One pass over what is waiting; passes never overlap. */
  run(): Promise<void> {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = this.pass()
      .then(
        () => {
          this.failures = 0;
          this.lastError = "";
        },
        (error: unknown) => {
          if (error instanceof Revoked) {
            return;
          }
          this.failures += 1;
          this.lastError = error instanceof Offline ? "offline: will retry" : String(error);
          const delay = Math.min(MAX_DELAY_S, 2 ** this.failures) * (0.5 + Math.random() / 2);
          this.soon(delay * 1000);
        },
      )
      .finally(() => {
        this.running = null;
        this.changed();
        if (this.again) {
          this.again = false;
          this.soon(0);
        }
      });
    return this.running;
  }

  private async pass(): Promise<void> {
    if (!navigator.onLine) {
      // Nothing is tried (so no batch is formed) until the phone is back online: what was
      // saved offline goes in as few requests as possible.
      return;
    }
    const waiting = (await this.items()).filter((item) => item.state === "waiting");
    if (waiting.length === 0) {
      return;
    }
    await this.sendContacts(waiting.filter((item) => item.kind === "contact"));
    for (const item of waiting.filter((i) => i.kind !== "contact")) {
      await this.sendOne(item);
    }
  }

  private async batches(contacts: Item[]): Promise<Item[][]> {
    const byKey = new Map<string, Item[]>();
    const fresh: Item[] = [];
    for (const item of contacts) {
      if (item.alone) {
        byKey.set(`alone:${item.id}`, [item]);
      } else if (item.batch) {
        byKey.set(item.batch, [...(byKey.get(item.batch) ?? []), item]);
      } else {
        fresh.push(item);
      }
    }
    // A new batch keeps its key and members for every retry while the app runs (a lost
    // answer is replayed by the server); after a restart the items may be batched afresh,
    // and their ids still make each one count once ("duplicate" for what was stored).
    for (let start = 0; start < fresh.length; start += BATCH_SIZE) {
      const key = crypto.randomUUID();
      const members = fresh.slice(start, start + BATCH_SIZE).map((item) => ({ ...item, batch: key }));
      for (const member of members) {
        this.cache?.set(member.id, member);
      }
      byKey.set(key, members);
    }
    return [...byKey.values()];
  }

  private async sendContacts(contacts: Item[]): Promise<void> {
    for (const batch of await this.batches(contacts)) {
      const key = batch[0].alone ? `alone-${batch[0].id}` : (batch[0].batch as string);
      const response = await this.api.fetch("/v1/contacts:batch", {
        method: "POST",
        headers: { "Content-Type": "application/json", "Idempotency-Key": key },
        body: JSON.stringify({ items: batch.map((item) => item.body) }),
      });
      if (response.status >= 500 || response.status === 429) {
        throw new Offline(`the server answered ${response.status}`);
      }
      const body = await response.json().catch(() => null);
      if (!response.ok) {
        await this.batchRefused(batch, response.status, body);
        continue;
      }
      const results = new Map((body as { results: ItemResult[] }).results.map((r) => [r.id, r]));
      const settled = batch.flatMap((item) => {
        const result = results.get(item.id);
        return result ? [settle(item, result)] : [];
      });
      // The server holds them now: show it at once, then seal the new states into the vault.
      // Were the app closed in between, the items would go again and come back "already
      // stored" (their ids are the server's idempotency keys): nothing lost, nothing twice.
      for (const item of settled) {
        this.cache?.set(item.id, item);
      }
      this.changed();
      await this.save(settled);
    }
  }

  /** A whole batch refused (one bad item fails the batch's validation): each item is then
   * sent on its own, so that only the bad one is rejected, with its reason. */
  private async batchRefused(batch: Item[], status: number, body: unknown): Promise<void> {
    await this.save(
      batch.map((item) =>
        item.alone
          ? { ...item, state: "rejected" as const, result: problemText(body, status) }
          : { ...item, alone: true },
      ),
    );
  }

  private async sendOne(item: Item): Promise<void> {
    const path =
      item.kind === "attempt"
        ? `/v1/referrals/${item.referral_id}/attempts`
        : `/v1/referrals/${item.referral_id}/outcome`;
    const response = await this.api.fetch(path, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(item.body),
    });
    if (response.status >= 500 || response.status === 429) {
      throw new Offline(`the server answered ${response.status}`);
    }
    const body = await response.json().catch(() => null);
    let next: Item;
    if (response.ok) {
      const state = body as { status?: string; reference?: string };
      next = {
        ...item,
        state: "sent",
        result: `stored: ${state.reference ?? ""} is ${state.status ?? "updated"}`,
        sent_at: new Date().toISOString(),
      };
    } else if (response.status === 409 && item.kind === "attempt") {
      next = { ...item, state: "conflict", result: problemText(body, response.status) };
    } else {
      next = { ...item, state: "rejected", result: problemText(body, response.status) };
    }
    await this.save([next]);
  }
}

function settle(item: Item, result: ItemResult): Item {
  if (result.result === "created" || result.result === "duplicate") {
    const said = result.result === "created" ? "stored" : "already stored";
    return { ...item, state: "sent", result: said, sent_at: new Date().toISOString() };
  }
  if (result.result === "conflict") {
    return { ...item, state: "conflict", result: result.problem?.detail ?? "a different record has this id" };
  }
  return { ...item, state: "rejected", result: result.problem?.detail ?? "rejected" };
}
