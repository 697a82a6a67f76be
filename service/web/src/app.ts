// The outreach workers' phone app (/app): sign in once per phone, a PIN that unlocks it and
// encrypts what it keeps, today's run-sheet (list and map, cached for offline use), recording
// contacts, not-found attempts and outcomes into an outbox that is sent in the background.
// Everything a person typed (referral descriptions, notes) is shown with textContent only.
import type { Map as MapLibreMap, Marker, StyleSpecification } from "maplibre-gl";
import { byId } from "./lib/dom";
import { Api, keepAccess, keptAccess, Offline, Revoked, type Session, signInAndRegister } from "./lib/field/api";
import { type Item, Outbox } from "./lib/field/outbox";
import { hasPin, setPin, unlock, type Vault, wipe } from "./lib/field/vault";

// --- wire types (the parts the app reads) ---------------------------------------------------

interface TeamShift {
  team_id: number;
  date: string;
  team_name: string;
  shift_start: string;
  shift_end: string;
}
interface Me {
  username: string;
  display_name: string;
  role: string;
  special_category: boolean;
  teams: TeamShift[];
  device_id: string | null;
  lock_after_minutes: number;
}
interface Point {
  lat: number;
  lon: number;
}
interface ReferralToLookFor {
  id: string;
  reference: string;
  location_description: string | null;
  appearance: string | null;
  clothing: string | null;
  belongings: string | null;
  site_type: string | null;
  gender: string | null;
  age_band: string | null;
  people_count: number | null;
  seen_time_band: string | null;
  status: string;
  attempts: number;
}
interface HotspotToLookFor {
  id: string;
  layer: string;
  member_count: number;
  bedded_down_count: number;
}
interface Stop {
  sequence: number;
  work_kind: string;
  urgent: boolean;
  swep: boolean;
  due_at: string | null;
  location: Point;
  arrive_at: string;
  referral: ReferralToLookFor | null;
  hotspot: HotspotToLookFor | null;
}
interface ShiftPlan {
  team: { id: number; name: string };
  date: string;
  shift_start: string;
  shift_end: string;
  base: Point;
  stops: Stop[];
}
interface PersonSummary {
  id: string;
  pseudonym: string;
  known_as?: string | null;
}
interface Position {
  lat: number;
  lon: number;
  accuracy_m: number | null;
  source: string;
}

// --- state ----------------------------------------------------------------------------------

let vault: Vault | null = null;
let api: Api | null = null;
let outbox: Outbox | null = null;
let me: Me | null = null;
let plan: ShiftPlan | null = null;
let persons: PersonSummary[] = [];
let pending: { session: Session; access: string; expires_in: number } | null = null;
let position: Position | null = null;
let lastActivity = Date.now();
let sheetMap: MapLibreMap | null = null;
let recordMap: MapLibreMap | null = null;
let pin: Marker | null = null;

const ESSEX: [number, number] = [0.65, 51.78];
const BLANK: StyleSpecification = {
  version: 8,
  sources: {},
  layers: [{ id: "background", type: "background", paint: { "background-color": "#e8eef3" } }],
};
const SCREENS = ["signin", "setpin", "unlock", "sheet", "map", "record", "outbox", "review"] as const;
type Screen = (typeof SCREENS)[number];
const IN_APP: Screen[] = ["sheet", "map", "record", "outbox", "review"];

const notice = byId("notice");
const appRoot = byId("app");
const lockButton = byId<HTMLButtonElement>("lock-button");

// --- small helpers --------------------------------------------------------------------------

function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  text?: string,
  className?: string,
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (text !== undefined) {
    node.textContent = text;
  }
  if (className) {
    node.className = className;
  }
  return node;
}

function say(message: string): void {
  notice.textContent = message;
  notice.hidden = message === "";
}

function time(iso: string | null): string {
  return iso ? new Date(iso).toLocaleTimeString("en-GB", { hour: "2-digit", minute: "2-digit" }) : "";
}

function words(code: string | null | undefined): string {
  return code ? code.replace(/_/g, " ") : "";
}

function show(screen: Screen): void {
  const inApp = IN_APP.includes(screen);
  appRoot.hidden = !inApp;
  lockButton.hidden = !inApp;
  for (const name of SCREENS) {
    byId(`screen-${name}`).hidden = name !== screen;
  }
  for (const tab of document.querySelectorAll<HTMLButtonElement>(".tabs button")) {
    if (tab.dataset.screen === screen) {
      tab.setAttribute("aria-current", "page");
    } else {
      tab.removeAttribute("aria-current");
    }
  }
  document.body.dataset.screen = screen;
  if (screen === "map") {
    drawSheetMap();
  }
  if (screen === "record") {
    drawRecordMap();
    if (!position) {
      locate(); // no tap needed for the usual case
    }
  }
}

function online(): boolean {
  return navigator.onLine;
}

function updateNet(): void {
  byId("net").textContent = online() ? "Online" : "Offline";
}

// --- sign in, PIN, lock, wipe ---------------------------------------------------------------

async function wipeAll(message: string): Promise<void> {
  outbox?.stop();
  vault = null;
  api = null;
  outbox = null;
  me = null;
  plan = null;
  persons = [];
  pending = null;
  position = null;
  await wipe();
  if ("caches" in window) {
    await caches.delete("outreach-basemap");
  }
  byId<HTMLFormElement>("record-form").reset();
  byId("sheet-list").replaceChildren();
  byId("outbox-list").replaceChildren();
  byId("review-list").replaceChildren();
  show("signin");
  say(message);
}

function lock(): void {
  outbox?.stop();
  vault = null;
  api = null;
  outbox = null;
  me = null;
  plan = null;
  persons = [];
  byId<HTMLFormElement>("record-form").reset();
  byId("sheet-list").replaceChildren();
  byId("outbox-list").replaceChildren();
  byId("review-list").replaceChildren();
  show("unlock");
  byId<HTMLInputElement>("pin").focus();
}

function onRevoked(): void {
  void wipeAll("This phone was signed out (revoked). Its data has been erased: sign in again.");
}

byId<HTMLFormElement>("signin-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const error = byId("signin-error");
  error.textContent = "";
  try {
    pending = await signInAndRegister(
      byId<HTMLInputElement>("username").value.trim(),
      byId<HTMLInputElement>("password").value,
      byId<HTMLInputElement>("device-label").value.trim() || "My phone",
    );
    byId<HTMLInputElement>("password").value = "";
    say("");
    show("setpin");
    byId<HTMLInputElement>("new-pin").focus();
  } catch (e) {
    error.textContent =
      e instanceof Offline ? "You are offline: sign in needs a connection." : String((e as Error).message);
  }
});

byId<HTMLFormElement>("setpin-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const first = byId<HTMLInputElement>("new-pin");
  const again = byId<HTMLInputElement>("new-pin-again");
  const error = byId("setpin-error");
  if (!/^\d{6,32}$/.test(first.value)) {
    error.textContent = "Use at least 6 digits.";
    return;
  }
  if (first.value !== again.value) {
    error.textContent = "The two PINs differ.";
    return;
  }
  if (!pending) {
    show("signin");
    return;
  }
  const opened = await setPin(first.value);
  first.value = "";
  again.value = "";
  await opened.put("session", pending.session);
  await keepAccess(opened, { access_token: pending.access, expires_in: pending.expires_in });
  const { session, access } = pending;
  pending = null;
  await begin(opened, session, access);
});

byId<HTMLFormElement>("unlock-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const input = byId<HTMLInputElement>("pin");
  const error = byId("unlock-error");
  const submit = byId<HTMLButtonElement>("unlock-submit");
  if (submit.disabled) {
    return;
  }
  submit.disabled = true;
  const result = await unlock(input.value).finally(() => {
    submit.disabled = false;
  });
  input.value = "";
  if ("vault" in result) {
    error.textContent = "";
    const session = await result.vault.get<Session>("session");
    if (!session) {
      await wipeAll("Nothing is kept on this phone: sign in.");
      return;
    }
    await begin(result.vault, session, await keptAccess(result.vault));
  } else if ("left" in result) {
    error.textContent = `Wrong PIN. ${result.left} ${result.left === 1 ? "try" : "tries"} left before this phone's data is erased.`;
  } else {
    error.textContent = "";
    await wipeAll("Five wrong PINs: this phone's data has been erased. Sign in again.");
  }
});

lockButton.addEventListener("click", lock);

let signOutArmed = 0;
byId("signout-button").addEventListener("click", async () => {
  const unsent = outbox ? (await outbox.items()).filter((i) => i.state !== "sent").length : 0;
  if (unsent > 0 && Date.now() - signOutArmed > 10_000) {
    signOutArmed = Date.now();
    say(`${unsent} records are not sent yet and would be lost. Press sign out again to erase them anyway.`);
    return;
  }
  const device = me?.device_id;
  if (api && device && online()) {
    // The phone revokes its own registration; offline, a coordinator can do it.
    await api.fetch(`/v1/devices/${device}`, { method: "DELETE" }).catch(() => undefined);
  }
  await wipeAll("Signed out. This phone's data has been erased.");
});

function watchIdle(): void {
  for (const type of ["pointerdown", "keydown", "touchstart", "scroll"]) {
    document.addEventListener(
      type,
      () => {
        lastActivity = Date.now();
      },
      { passive: true },
    );
  }
  window.setInterval(() => {
    const minutes = me?.lock_after_minutes ?? 15;
    if (vault && Date.now() - lastActivity > minutes * 60_000) {
      lock();
    }
  }, 1000);
}

// --- after unlocking ------------------------------------------------------------------------

async function begin(opened: Vault, session: Session, access: string | null): Promise<void> {
  vault = opened;
  api = new Api(opened, session, access, onRevoked);
  outbox = new Outbox(opened, api, outboxChanged);
  await outbox.prune(SENT_KEPT_MS);
  me = (await opened.get<Me>("me")) ?? null;
  plan = (await opened.get<ShiftPlan>("runsheet")) ?? null;
  persons = (await opened.get<PersonSummary[]>("persons")) ?? [];
  lastActivity = Date.now();
  applyRole();
  renderSheet();
  await renderOutbox();
  show("sheet");
  say("");
  outbox.soon(0);
  void refresh();
}

function applyRole(): void {
  byId("special").hidden = me !== null && !me.special_category;
}

/** Who we are and today's run-sheet, when online; the cached copy serves offline. */
async function refresh(): Promise<void> {
  if (!api || !vault || !online()) {
    return;
  }
  try {
    me = await api.json<Me>("/v1/me");
    await vault.put("me", me);
    applyRole();
    const changed = await syncFeed();
    const team = me.teams[0];
    if (team && (changed || !plan || plan.team.id !== team.team_id || plan.date !== team.date)) {
      plan = await api.json<ShiftPlan>(`/v1/teams/${team.team_id}/shift-plan?date=${team.date}`);
      await vault.put("runsheet", plan);
      renderSheet();
    }
    void offerPush();
  } catch (e) {
    if (!(e instanceof Offline || e instanceof Revoked)) {
      say(`Could not refresh: ${(e as Error).message}`);
    }
  }
}

/** Read the change feed from the stored cursor; whether anything changed since. */
async function syncFeed(): Promise<boolean> {
  if (!api || !vault) {
    return false;
  }
  let cursor = await vault.get<string>("cursor");
  let changed = false;
  for (let page = 0; page < 5; page++) {
    const query = cursor ? `?since=${encodeURIComponent(cursor)}&limit=500` : "?limit=500";
    const feed = await api.json<{ cursor: string; changes: unknown[]; has_more: boolean }>(`/v1/sync${query}`);
    changed ||= feed.changes.length > 0;
    cursor = feed.cursor;
    await vault.put("cursor", cursor);
    if (!feed.has_more) {
      break;
    }
  }
  return changed;
}

// --- the run-sheet --------------------------------------------------------------------------

function navigationLinks(stop: Stop, holder: HTMLElement): void {
  const { lat, lon } = stop.location;
  const directions = el("a", `Directions to stop ${stop.sequence}`);
  directions.href = `https://www.google.com/maps/dir/?api=1&destination=${lat.toFixed(6)},${lon.toFixed(6)}`;
  directions.target = "_blank";
  directions.rel = "noopener";
  const geo = el("a", `Open stop ${stop.sequence} in the map app`);
  geo.href = `geo:${lat.toFixed(6)},${lon.toFixed(6)}?q=${lat.toFixed(6)},${lon.toFixed(6)}`;
  holder.append(directions, geo);
}

function describe(stop: Stop, list: HTMLDListElement): void {
  const add = (term: string, value: unknown): void => {
    if (value === null || value === undefined || value === "") {
      return;
    }
    list.append(el("dt", term), el("dd", String(value)));
  };
  add("Arrive", time(stop.arrive_at));
  if (stop.due_at) {
    add("Due by", new Date(stop.due_at).toLocaleString("en-GB", { dateStyle: "short", timeStyle: "short" }));
  }
  const referral = stop.referral;
  if (referral) {
    add("Where", referral.location_description);
    add("Site", words(referral.site_type));
    add("Looks like", referral.appearance);
    add("Clothing", referral.clothing);
    add("Belongings", referral.belongings);
    add("Person", [words(referral.gender), words(referral.age_band)].filter(Boolean).join(", "));
    add("People", referral.people_count);
    add("Seen", words(referral.seen_time_band));
    add("Searches so far", referral.attempts);
  }
  if (stop.hotspot) {
    add("Hotspot", `${stop.hotspot.member_count} sightings, ${stop.hotspot.bedded_down_count} bedded down`);
  }
}

function stopTitle(stop: Stop): string {
  const what = stop.referral ? `Referral ${stop.referral.reference}` : "Hotspot";
  return `${stop.sequence}. ${what}`;
}

function renderSheet(): void {
  const list = byId("sheet-list");
  list.replaceChildren();
  const meta = byId("sheet-meta");
  if (!plan) {
    meta.textContent = online() ? "Loading the run-sheet…" : "No run-sheet kept on this phone yet.";
    byId("sheet-empty").hidden = true;
    fillAttachChoices();
    return;
  }
  meta.textContent = `${plan.team.name} · shift ${time(plan.shift_start)}–${time(plan.shift_end)} · ${plan.date}`;
  byId("sheet-empty").hidden = plan.stops.length > 0;
  for (const stop of plan.stops) {
    const item = el("li");
    item.dataset.sequence = String(stop.sequence);
    const title = el("h2");
    if (stop.urgent) {
      title.append(el("span", "Urgent", "badge urgent"));
    }
    if (stop.swep) {
      title.append(el("span", "SWEP", "badge swep"));
    }
    if (stop.due_at) {
      title.append(el("span", "SLA", "badge due"));
    }
    title.append(document.createTextNode(stopTitle(stop)));
    const details = el("dl");
    describe(stop, details);
    const actions = el("div", undefined, "actions");
    navigationLinks(stop, actions);
    const record = el("button", "Record contact", "secondary small");
    record.type = "button";
    record.addEventListener("click", () => startRecord(stop));
    actions.append(record);
    if (stop.referral) {
      actions.append(...referralActions(stop, stop.referral));
    }
    item.append(title, details, actions);
    list.append(item);
  }
  fillAttachChoices();
}

function referralActions(stop: Stop, referral: ReferralToLookFor): HTMLElement[] {
  const notFound = el("button", "Not found", "secondary small");
  notFound.type = "button";
  notFound.addEventListener("click", async () => {
    if (!outbox) {
      return;
    }
    const where = position ?? { lat: stop.location.lat, lon: stop.location.lon };
    const id = crypto.randomUUID();
    await outbox.add(
      "attempt",
      { id, attempted_at: new Date().toISOString(), found: false, lat: where.lat, lon: where.lon },
      `Not found · ${referral.reference}`,
      referral.id,
    );
    say(`Not-found search for ${referral.reference} saved (${id.slice(0, 8)}).`);
  });
  const template = byId<HTMLTemplateElement>("outcome-choices");
  const select = (template.content.firstElementChild as HTMLSelectElement).cloneNode(true) as HTMLSelectElement;
  select.id = `outcome-${stop.sequence}`;
  const label = el("label", `Outcome for ${referral.reference}`, "visually-hidden");
  label.htmlFor = select.id;
  const close = el("button", "Close with outcome", "secondary small");
  close.type = "button";
  close.addEventListener("click", async () => {
    if (!outbox) {
      return;
    }
    await outbox.add(
      "outcome",
      { outcome: select.value },
      `Outcome ${words(select.value)} · ${referral.reference}`,
      referral.id,
    );
    say(`Outcome for ${referral.reference} saved.`);
  });
  return [notFound, label, select, close];
}

// --- maps -----------------------------------------------------------------------------------

function style(): StyleSpecification | string {
  return document.body.dataset.mapStyle || BLANK;
}

function drawSheetMap(): void {
  const node = byId("sheet-map");
  if (typeof maplibregl === "undefined") {
    node.textContent = "The map could not be loaded.";
    return;
  }
  if (!sheetMap) {
    sheetMap = new maplibregl.Map({
      container: node,
      style: style(),
      center: ESSEX,
      zoom: 8,
      attributionControl: false,
    });
  }
  sheetMap.resize();
  const map = sheetMap;
  for (const old of node.querySelectorAll(".stop-marker")) {
    old.remove();
  }
  if (!plan) {
    return;
  }
  const bounds = new maplibregl.LngLatBounds();
  bounds.extend([plan.base.lon, plan.base.lat]);
  for (const stop of plan.stops) {
    const marker = el("div", String(stop.sequence), stop.urgent ? "stop-marker urgent" : "stop-marker");
    marker.setAttribute("role", "img");
    marker.setAttribute("aria-label", stopTitle(stop));
    new maplibregl.Marker({ element: marker }).setLngLat([stop.location.lon, stop.location.lat]).addTo(map);
    bounds.extend([stop.location.lon, stop.location.lat]);
  }
  map.fitBounds(bounds, { padding: 40, maxZoom: 15, duration: 0 });
}

function drawRecordMap(): void {
  const node = byId("record-map");
  if (typeof maplibregl === "undefined") {
    return;
  }
  const centre: [number, number] = position
    ? [position.lon, position.lat]
    : plan
      ? [plan.base.lon, plan.base.lat]
      : ESSEX;
  if (!recordMap) {
    recordMap = new maplibregl.Map({
      container: node,
      style: style(),
      center: centre,
      zoom: 14,
      attributionControl: false,
    });
    const handle = el("div", undefined, "pin");
    handle.setAttribute("role", "img");
    handle.setAttribute("aria-label", "Position pin (drag to move)");
    pin = new maplibregl.Marker({ element: handle, draggable: true }).setLngLat(centre).addTo(recordMap);
    pin.on("dragend", () => {
      const at = pin?.getLngLat();
      if (at) {
        setPosition({ lat: at.lat, lon: at.lng, accuracy_m: null, source: "pin moved by hand" });
      }
    });
  }
  recordMap.resize();
  if (position) {
    pin?.setLngLat([position.lon, position.lat]);
    recordMap.jumpTo({ center: [position.lon, position.lat] });
  }
}

function setPosition(next: Position): void {
  position = next;
  const accuracy = next.accuracy_m === null ? "" : ` ±${Math.round(next.accuracy_m)} m`;
  byId("position-text").textContent = `${next.lat.toFixed(5)}, ${next.lon.toFixed(5)}${accuracy} (${next.source})`;
  pin?.setLngLat([next.lon, next.lat]);
  recordMap?.jumpTo({ center: [next.lon, next.lat] });
}

function locate(): void {
  if (!("geolocation" in navigator)) {
    return;
  }
  byId("position-text").textContent = "Finding your position…";
  navigator.geolocation.getCurrentPosition(
    (found) =>
      setPosition({
        lat: found.coords.latitude,
        lon: found.coords.longitude,
        accuracy_m: found.coords.accuracy,
        source: "GPS",
      }),
    () => {
      byId("position-text").textContent = position
        ? byId("position-text").textContent
        : "No GPS position: drag the pin.";
    },
    { enableHighAccuracy: true, timeout: 15_000, maximumAge: 30_000 },
  );
}

byId("gps-button").addEventListener("click", locate);

// --- recording ------------------------------------------------------------------------------

function fillAttachChoices(): void {
  const select = byId<HTMLSelectElement>("attach");
  const keep = select.value;
  select.replaceChildren(el("option", "No referral or person"));
  (select.firstElementChild as HTMLOptionElement).value = "";
  for (const stop of plan?.stops ?? []) {
    if (stop.referral) {
      const option = el("option", `Referral ${stop.referral.reference} (stop ${stop.sequence})`);
      option.value = `referral:${stop.referral.id}`;
      select.append(option);
    }
  }
  for (const person of persons.slice(0, 50)) {
    const option = el("option", personName(person));
    option.value = `person:${person.id}`;
    select.append(option);
  }
  select.value = [...select.options].some((o) => o.value === keep) ? keep : "";
}

function personName(person: PersonSummary): string {
  return person.known_as ? `${person.known_as} (${person.pseudonym})` : person.pseudonym;
}

function startRecord(stop: Stop): void {
  show("record");
  if (stop.referral) {
    byId<HTMLSelectElement>("attach").value = `referral:${stop.referral.id}`;
  }
  setPosition({ lat: stop.location.lat, lon: stop.location.lon, accuracy_m: null, source: `stop ${stop.sequence}` });
  locate();
}

function checked(name: string): string[] {
  return [...document.querySelectorAll<HTMLInputElement>(`input[name="${name}"]:checked`)].map((box) => box.value);
}

function text(id: string): string | null {
  const value = byId<HTMLInputElement | HTMLTextAreaElement>(id).value.trim();
  return value === "" ? null : value;
}

byId<HTMLFormElement>("record-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const status = byId("record-status");
  if (!outbox) {
    return;
  }
  if (!position) {
    status.textContent = "Set the position first: use your position or drag the pin.";
    return;
  }
  const attach = byId<HTMLSelectElement>("attach").value;
  const referralId = attach.startsWith("referral:") ? attach.slice(9) : null;
  const body: Record<string, unknown> = {
    id: crypto.randomUUID(),
    observed_at: new Date().toISOString(),
    lat: Number(position.lat.toFixed(6)),
    lon: Number(position.lon.toFixed(6)),
    accuracy_m: position.accuracy_m === null ? null : Math.min(50_000, Math.round(position.accuracy_m)),
    team_id: me?.teams[0]?.team_id ?? null,
    person_id: attach.startsWith("person:") ? attach.slice(7) : null,
    referral_id: referralId,
    bedded_down: byId<HTMLInputElement>("bedded-down").checked,
    contact_type: referralId ? "referral_search" : "street_outreach",
    engagement: byId<HTMLSelectElement>("engagement").value,
    offers_made: checked("offers-made"),
    offers_accepted: checked("offers-accepted"),
    outcome: text("contact-outcome"),
    notes: text("notes"),
  };
  if (me?.special_category !== false) {
    body.support_needs = checked("support-needs");
    body.health_notes = text("health-notes");
    body.safeguarding_concern = byId<HTMLInputElement>("safeguarding").checked;
  }
  const choice = byId<HTMLSelectElement>("attach").selectedOptions[0]?.textContent ?? "";
  const label = `Contact · ${words(String(body.engagement))}${attach ? ` · ${choice}` : ""}`;
  const item = await outbox.add("contact", body, label, referralId);
  byId<HTMLFormElement>("record-form").reset();
  status.textContent = `Saved (${item.id.slice(0, 8)}): waiting to send.`;
});

let searchTimer: number | undefined;
byId<HTMLInputElement>("person-search").addEventListener("input", () => {
  window.clearTimeout(searchTimer);
  searchTimer = window.setTimeout(() => void searchPersons(), 300);
});

async function searchPersons(): Promise<void> {
  const query = byId<HTMLInputElement>("person-search").value.trim();
  const results = byId("person-results");
  results.replaceChildren();
  if (query.length < 2 || !vault) {
    return;
  }
  let found: PersonSummary[] = [];
  try {
    if (!api || !online()) {
      throw new Offline("offline");
    }
    found = (await api.json<{ items: PersonSummary[] }>(`/v1/persons?limit=10&q=${encodeURIComponent(query)}`)).items;
    const known = new Map(persons.map((p) => [p.id, p]));
    for (const person of found) {
      known.set(person.id, { id: person.id, pseudonym: person.pseudonym, known_as: person.known_as ?? null });
    }
    persons = [...known.values()].slice(-200);
    await vault.put("persons", persons);
  } catch (e) {
    // Offline, or the search failed on the way (the network dropped mid-request, the server
    // is busy): the persons this phone already knows are still found. Only a revoked phone
    // stops here (the app wipes itself).
    if (e instanceof Revoked) {
      throw e;
    }
    const needle = query.toLowerCase();
    found = persons.filter((p) => personName(p).toLowerCase().includes(needle));
  }
  for (const person of found) {
    const choose = el("button", personName(person));
    choose.type = "button";
    choose.addEventListener("click", () => {
      fillAttachChoices();
      byId<HTMLSelectElement>("attach").value = `person:${person.id}`;
      results.replaceChildren();
    });
    const item = el("li");
    item.append(choose);
    results.append(item);
  }
  if (found.length === 0) {
    results.append(el("li", "Nobody found."));
  }
}

// --- the outbox and conflicts ---------------------------------------------------------------

const STATE_TEXT: Record<Item["state"], string> = {
  waiting: "Waiting to send",
  sent: "Sent",
  conflict: "Conflict: review",
  rejected: "Rejected",
};

function outboxEntry(item: Item): HTMLLIElement {
  const entry = el("li");
  entry.dataset.id = item.id;
  entry.dataset.state = item.state;
  entry.dataset.kind = item.kind;
  entry.append(el("h2", item.label));
  entry.append(
    el(
      "p",
      `${STATE_TEXT[item.state]} · saved ${time(item.saved_at)} · id ${item.id.slice(0, 8)}`,
      `state ${item.state}`,
    ),
  );
  if (item.result) {
    entry.append(el("p", item.state === "rejected" ? `Reason: ${item.result}` : `Server: ${item.result}`));
  }
  return entry;
}

function reviewEntry(item: Item): HTMLLIElement {
  const entry = outboxEntry(item);
  const notes = item.body.notes;
  if (typeof notes === "string") {
    entry.append(el("p", `Your notes: ${notes}`));
  }
  const keep = el("button", "Keep mine as a new record", "secondary small");
  keep.type = "button";
  keep.addEventListener("click", () => void outbox?.keepAsNew(item));
  const drop = el("button", "Drop mine", "secondary small");
  drop.type = "button";
  drop.addEventListener("click", () => void outbox?.drop(item));
  const actions = el("div", undefined, "actions");
  actions.append(keep, drop);
  entry.append(actions);
  return entry;
}

const SENT_SHOWN = 50;
const SENT_KEPT_MS = 24 * 3600 * 1000;
let renderQueued = false;

/** The counts and the sync line at once (what the worker reads to know their records are
 * safe), the lists in a task of their own after. */
function outboxChanged(): void {
  renderStatus();
  scheduleRender();
}

function renderStatus(): void {
  const counts = outbox?.counts();
  if (!outbox || !counts) {
    return;
  }
  const pending = counts.waiting + counts.conflict;
  byId("outbox-count").textContent = pending > 0 ? String(pending) : "";
  const error = outbox.lastError ? ` (${outbox.lastError})` : "";
  byId("sync-status").textContent =
    `${counts.waiting} waiting, ${counts.sent} sent, ${counts.conflict} to review, ${counts.rejected} rejected${error}`;
  byId("review-link").hidden = counts.conflict === 0;
}

/** Re-render the outbox once for a burst of changes. */
function scheduleRender(): void {
  if (!renderQueued) {
    renderQueued = true;
    window.setTimeout(() => {
      renderQueued = false;
      void renderOutbox();
    }, 0);
  }
}

async function renderOutbox(): Promise<void> {
  if (!outbox) {
    return;
  }
  const items = await outbox.items();
  renderStatus();
  const conflicts = items.filter((i) => i.state === "conflict").length;
  // Everything not sent, and the latest sent (the counts above cover them all).
  const sent = items.filter((i) => i.state === "sent").slice(-SENT_SHOWN);
  const shown = [...items.filter((i) => i.state !== "sent"), ...sent].sort((a, b) =>
    b.saved_at.localeCompare(a.saved_at),
  );
  byId("outbox-list").replaceChildren(...shown.map(outboxEntry));
  byId("review-list").replaceChildren(...items.filter((i) => i.state === "conflict").map(reviewEntry));
  if (conflicts === 0 && document.body.dataset.screen === "review") {
    show("outbox");
  }
}

byId("sync-button").addEventListener("click", () => {
  outbox?.soon(0);
  void refresh();
});
byId("review-button").addEventListener("click", () => show("review"));

// --- push alerts (GET /v1/push/key, PUT /v1/push/subscription) ------------------------------

function keyBytes(base64url: string): Uint8Array {
  const padded = base64url
    .replace(/-/g, "+")
    .replace(/_/g, "/")
    .padEnd(Math.ceil(base64url.length / 4) * 4, "=");
  return Uint8Array.from(atob(padded), (c) => c.charCodeAt(0));
}

async function offerPush(): Promise<void> {
  if (!api || !("serviceWorker" in navigator) || !("PushManager" in window)) {
    return;
  }
  const response = await api.fetch("/v1/push/key").catch(() => null);
  if (response?.status !== 200) {
    return; // no push on this server
  }
  const body = (await response.json()) as Record<string, string>;
  const key = body.public_key ?? body.key ?? body.vapid_public_key;
  if (!key || Notification.permission === "denied") {
    return;
  }
  if (Notification.permission !== "granted" && (await Notification.requestPermission()) !== "granted") {
    return;
  }
  const registration = await navigator.serviceWorker.ready;
  const subscription =
    (await registration.pushManager.getSubscription()) ??
    (await registration.pushManager.subscribe({
      userVisibleOnly: true,
      applicationServerKey: keyBytes(key) as BufferSource,
    }));
  await api.fetch("/v1/push/subscription", {
    method: "PUT",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ ...subscription.toJSON(), device_id: me?.device_id ?? undefined }),
  });
}

// --- start ----------------------------------------------------------------------------------

for (const tab of document.querySelectorAll<HTMLButtonElement>(".tabs button")) {
  tab.addEventListener("click", () => show(tab.dataset.screen as Screen));
}
window.addEventListener("online", () => {
  updateNet();
  // What waits in the outbox goes first; the run-sheet is refreshed after.
  void (outbox?.run() ?? Promise.resolve()).then(() => refresh());
});
window.addEventListener("offline", updateNet);
window.setInterval(() => {
  if (vault && online()) {
    void refresh();
  }
}, 120_000);

async function start(): Promise<void> {
  updateNet();
  watchIdle();
  if ("serviceWorker" in navigator) {
    navigator.serviceWorker.register("/app/sw.js", { scope: "/app" }).catch(() => undefined);
  }
  if (await hasPin()) {
    show("unlock");
  } else {
    show("signin");
  }
  document.body.dataset.ready = "1";
}

void start();
