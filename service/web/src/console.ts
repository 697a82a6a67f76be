// The coordinators' console: queue and triage, figures, hotspots and exports. The same sign-in
// as the staff map (lib/staff_auth). Everything a member of the public typed (place text,
// appearance...) is set with textContent only, never as HTML.
//
// The queue updates by short polling, not server-sent events: the staff token lives in this
// tab's sessionStorage and is sent as an Authorization header, which EventSource cannot send
// (a token in the URL would end up in logs). Polling asks GET /v1/referral-queue/version every
// few seconds (a count and a time, nothing personal, not audited) and fetches the queue itself
// (audited) only when that changes.
import type { GeoJSONSource, Map as MapLibreMap, MapMouseEvent, StyleSpecification } from "maplibre-gl";
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import { byId, row } from "./lib/dom";
import { authHeaders, forget, signIn, token } from "./lib/staff_auth";

type Json = Record<string, unknown>;
interface QueueRow {
  id: string;
  reference: string;
  status: string;
  urgent: boolean;
  received_at: string;
  place_text: string | null;
  postcode: string | null;
  authority_code: string | null;
  authority_name: string | null;
  team_id: number | null;
  team_name: string | null;
  routing_reason: string;
  out_of_area: boolean;
  no_location: boolean;
  swep: boolean;
  past_sla: boolean;
  assignment_rule: string | null;
  assigned_team_name: string | null;
  priority_rank: number | null;
  assignment_swep: boolean;
  pinned_team_id: number | null;
  possible_duplicates: string[];
}
interface Team {
  id: number;
  name: string;
}
interface Hotspot {
  id: number;
  geometry: { type: "Point"; coordinates: [number, number] } | null;
  properties: {
    layer: string;
    member_count: number;
    first_activity_at: string | null;
    last_activity_at: string | null;
    team_id: number | null;
    authority_code: string | null;
  };
}

const POLL_MS = 4000;
const ESSEX: [number, number] = [0.65, 51.78];
const BLANK: StyleSpecification = {
  version: 8,
  sources: {},
  layers: [{ id: "background", type: "background", paint: { "background-color": "#eef2f5" } }],
};
const FLAG_LABELS: [keyof QueueRow, string][] = [
  ["urgent", "urgent"],
  ["swep", "SWEP"],
  ["past_sla", "past SLA"],
  ["no_location", "no location"],
  ["out_of_area", "out of area"],
];

const main = byId("main");
const statusLine = byId("console-status");
let teams: Team[] = [];
let queueVersion = "";
let queueRows: QueueRow[] = [];
let pollTimer: number | undefined;
let current: QueueRow | null = null;
let comparePair: [Json, Json] | null = null;
const maps: Record<string, MapLibreMap> = {};

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** A call to our API with the staff token; JSON in and out, problems raised as HttpError. */
async function api<T>(path: string, init: RequestInit = {}): Promise<T> {
  const headers: Record<string, string> = { ...authHeaders(), Accept: "application/json" };
  if (init.body) {
    headers["Content-Type"] = "application/json";
  }
  const response = await fetch(path, { ...init, headers });
  if (response.status === 401) {
    showSignIn("Your sign-in has ended: sign in again.");
  }
  if (!response.ok) {
    let detail = `${response.status}`;
    try {
      const problem = (await response.json()) as { title?: string; detail?: string };
      detail = `${response.status}: ${problem.detail ?? problem.title ?? ""}`;
    } catch {
      // not JSON: keep the status
    }
    throw new HttpError(response.status, detail);
  }
  return (await response.json()) as T;
}

function say(message: string): void {
  statusLine.textContent = message;
}

function el<K extends keyof HTMLElementTagNameMap>(tag: K, text?: string, cls?: string): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (text !== undefined) {
    node.textContent = text;
  }
  if (cls) {
    node.className = cls;
  }
  return node;
}

// --- sign-in and views -------------------------------------------------------------------

const VIEWS = ["queue", "dashboard", "hotspots", "exports"];

function hideAll(): void {
  for (const view of VIEWS) {
    byId(`view-${view}`).hidden = true;
  }
  byId("signin").hidden = true;
  byId("forbidden").hidden = true;
  byId("console-nav").hidden = true;
}

function showSignIn(message: string): void {
  forget();
  stopPolling();
  hideAll();
  byId("signin").hidden = false;
  byId("signin-error").textContent = message;
  say("");
}

function showForbidden(): void {
  stopPolling();
  hideAll();
  byId("forbidden").hidden = false;
  main.dataset.state = "forbidden";
  say("");
}

function showView(view: string): void {
  for (const name of VIEWS) {
    byId(`view-${name}`).hidden = name !== view;
  }
  for (const button of document.querySelectorAll<HTMLButtonElement>("#console-nav [data-view]")) {
    button.setAttribute("aria-pressed", String(button.dataset.view === view));
  }
  main.dataset.view = view;
  if (view === "dashboard") {
    void loadDashboard();
  } else if (view === "hotspots") {
    void loadHotspots();
  } else if (view === "exports") {
    void countExports();
  }
  for (const map of Object.values(maps)) {
    map.resize();
  }
}

byId("signin-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const error = byId("signin-error");
  error.textContent = "";
  const password = byId<HTMLInputElement>("password");
  try {
    await signIn(byId<HTMLInputElement>("username").value, password.value);
    password.value = "";
    await start();
  } catch (err) {
    error.textContent = (err as Error).message;
  }
});
byId("signout").addEventListener("click", () => showSignIn(""));
byId("forbidden-signout").addEventListener("click", () => showSignIn(""));
for (const button of document.querySelectorAll<HTMLButtonElement>("#console-nav [data-view]")) {
  button.addEventListener("click", () => showView(button.dataset.view ?? "queue"));
}

async function start(): Promise<void> {
  if (!token()) {
    showSignIn("");
    return;
  }
  try {
    queueVersion = JSON.stringify(await api<Json>("/v1/referral-queue/version"));
  } catch (err) {
    if (err instanceof HttpError && err.status === 403) {
      showForbidden();
    }
    return;
  }
  hideAll();
  byId("console-nav").hidden = false;
  await loadReference();
  showView("queue");
  await loadQueue();
  // Ready only once the first view is chosen: a click before that would be overridden.
  main.dataset.state = "ready";
  startPolling();
}

// --- reference data: authorities, teams, SWEP --------------------------------------------

async function loadReference(): Promise<void> {
  const [areas, teamList] = await Promise.all([
    api<{ features: { properties: { code: string; name: string } }[] }>("/v1/areas"),
    api<Team[]>("/v1/teams"),
  ]);
  teams = teamList;
  for (const id of ["f-authority", "d-authority"]) {
    const select = byId<HTMLSelectElement>(id);
    select.replaceChildren(new Option("All", ""));
    for (const area of areas.features) {
      select.append(new Option(area.properties.name, area.properties.code));
    }
  }
  for (const id of ["f-team", "pin-team"]) {
    const select = byId<HTMLSelectElement>(id);
    select.replaceChildren(...(id === "f-team" ? [new Option("All", "")] : []));
    for (const team of teams) {
      select.append(new Option(team.name, String(team.id)));
    }
  }
  await loadSwep();
}

async function loadSwep(): Promise<void> {
  const states = await api<{ authority_code: string; name: string; active: boolean }[]>("/v1/swep");
  const list = byId("swep-list");
  list.replaceChildren();
  for (const state of states) {
    const item = el("li");
    const box = el("input");
    box.type = "checkbox";
    box.id = `swep-${state.authority_code}`;
    box.checked = state.active;
    const label = el("label", state.name);
    label.htmlFor = box.id;
    box.addEventListener("change", async () => {
      try {
        await api(`/v1/areas/${state.authority_code}/swep`, {
          method: "PUT",
          body: JSON.stringify({ active: box.checked }),
        });
        await loadQueue();
        say(`SWEP ${box.checked ? "on" : "off"} for ${state.name}; assignments recomputed.`);
      } catch (err) {
        box.checked = !box.checked;
        say(`SWEP not changed (${(err as Error).message}).`);
      }
    });
    item.className = "check";
    item.append(box, label);
    list.append(item);
  }
}

// --- the queue ----------------------------------------------------------------------------

function queueQuery(): string {
  const params = new URLSearchParams();
  for (const [name, id] of [
    ["authority", "f-authority"],
    ["team", "f-team"],
    ["stage", "f-stage"],
  ]) {
    const value = byId<HTMLSelectElement>(id).value;
    if (value) {
      params.set(name, value);
    }
  }
  for (const box of document.querySelectorAll<HTMLInputElement>("#queue-filters input[type=checkbox]")) {
    if (box.checked) {
      params.set(box.name, "true");
    }
  }
  return params.toString();
}

function age(iso: string): string {
  const minutes = Math.max(0, Math.round((Date.now() - Date.parse(iso)) / 60000));
  if (minutes < 60) {
    return `${minutes} min`;
  }
  if (minutes < 48 * 60) {
    return `${Math.round(minutes / 60)} h`;
  }
  return `${Math.round(minutes / 1440)} days`;
}

async function loadQueue(): Promise<void> {
  try {
    queueRows = await api<QueueRow[]>(`/v1/referral-queue?${queueQuery()}`);
  } catch (err) {
    say(`The queue could not be loaded (${(err as Error).message}).`);
    return;
  }
  renderQueue();
  byId("queue-updated").textContent =
    `${queueRows.length} open referral${queueRows.length === 1 ? "" : "s"} · updated ${new Date().toLocaleTimeString("en-GB")}`;
  if (current) {
    current = queueRows.find((r) => r.id === current?.id) ?? current;
  }
}

function renderQueue(): void {
  const body = byId("queue-body");
  body.replaceChildren();
  for (const item of queueRows) {
    const tr = el("tr");
    tr.dataset.id = item.id;
    tr.dataset.reference = item.reference;
    const open = el("button", item.reference, "link");
    open.type = "button";
    open.addEventListener("click", () => void openTriage(item));
    const first = el("td");
    first.append(open);
    const team = el("td");
    team.append(el("span", item.assigned_team_name ?? item.team_name ?? "No team"));
    team.append(el("small", item.routing_reason, "why"));
    const flags = el("td");
    for (const [key, label] of FLAG_LABELS) {
      if (item[key]) {
        flags.append(el("span", label, `flag flag-${String(key)}`));
      }
    }
    if (item.possible_duplicates.length) {
      flags.append(el("span", "possible duplicate", "flag flag-duplicate"));
    }
    if (item.pinned_team_id) {
      flags.append(el("span", "pinned", "flag flag-pinned"));
    }
    const priority = item.priority_rank === null ? "—" : `#${item.priority_rank + 1}`;
    tr.append(
      first,
      el("td", age(item.received_at)),
      el("td", item.place_text ?? item.postcode ?? "—", "place"),
      el("td", item.status),
      team,
      flags,
      el("td", item.assignment_swep ? `${priority} (SWEP)` : priority, "priority"),
    );
    body.append(tr);
  }
}

byId("queue-filters").addEventListener("change", () => void loadQueue());
byId("queue-filters").addEventListener("submit", (event) => event.preventDefault());

async function poll(): Promise<void> {
  if (document.hidden) {
    return;
  }
  try {
    const version = JSON.stringify(await api<Json>("/v1/referral-queue/version"));
    if (version !== queueVersion) {
      queueVersion = version;
      await loadQueue();
    }
  } catch {
    // offline for a moment: the next poll tries again
  }
}

function startPolling(): void {
  stopPolling();
  pollTimer = window.setInterval(() => void poll(), POLL_MS);
}

function stopPolling(): void {
  if (pollTimer !== undefined) {
    window.clearInterval(pollTimer);
    pollTimer = undefined;
  }
}

// --- maps -----------------------------------------------------------------------------------

function makeMap(id: string, onClick?: (event: MapMouseEvent) => void): MapLibreMap {
  const existing = maps[id];
  if (existing) {
    existing.resize();
    return existing;
  }
  const styleUrl = main.dataset.styleUrl;
  const map = new maplibregl.Map({
    container: id,
    style: styleUrl ? styleUrl : BLANK,
    center: ESSEX,
    zoom: 8,
    attributionControl: false,
  });
  map.addControl(new maplibregl.NavigationControl({ showCompass: false }));
  map.on("load", () => {
    map.addSource("areas", { type: "geojson", data: "/v1/areas" });
    map.addLayer({ id: "areas-line", type: "line", source: "areas", paint: { "line-color": "#505a5f" } });
    map.addSource("points", { type: "geojson", data: { type: "FeatureCollection", features: [] } });
    map.addLayer({
      id: "points",
      type: "circle",
      source: "points",
      paint: {
        "circle-radius": ["coalesce", ["get", "radius"], 8],
        "circle-color": ["coalesce", ["get", "colour"], "#d4351c"],
        "circle-stroke-color": "#0b0c0c",
        "circle-stroke-width": 2,
      },
    });
    map.getContainer().dataset.ready = "1";
  });
  if (onClick) {
    map.on("click", onClick);
  }
  maps[id] = map;
  return map;
}

interface Point {
  lon: number;
  lat: number;
  colour: string;
  radius?: number;
}

function showPoints(map: MapLibreMap, points: Point[], zoom = 14): void {
  const draw = (): void => {
    const source = map.getSource("points") as GeoJSONSource | undefined;
    source?.setData({
      type: "FeatureCollection",
      features: points.map((p) => ({
        type: "Feature",
        geometry: { type: "Point", coordinates: [p.lon, p.lat] },
        properties: { colour: p.colour, radius: p.radius ?? 8 },
      })),
    });
    if (points.length === 1) {
      map.jumpTo({ center: [points[0].lon, points[0].lat], zoom });
    } else if (points.length > 1) {
      const lons = points.map((p) => p.lon);
      const lats = points.map((p) => p.lat);
      map.fitBounds(
        [
          [Math.min(...lons), Math.min(...lats)],
          [Math.max(...lons), Math.max(...lats)],
        ],
        { padding: 60, maxZoom: 16, duration: 0 },
      );
    }
    map.getContainer().dataset.points = String(points.length);
  };
  if (map.getContainer().dataset.ready === "1") {
    draw(); // the "points" source exists from the map's load on
  } else {
    map.once("load", draw);
  }
}

// --- triage ---------------------------------------------------------------------------------

const DETAIL_FIELDS: [string, string][] = [
  ["reference", "Reference"],
  ["status", "Stage"],
  ["received_at", "Received"],
  ["seen_at", "Seen"],
  ["location_description", "Place (as written)"],
  ["postcode", "Postcode"],
  ["authority_code", "Authority"],
  ["routing_reason", "Routed"],
  ["gender", "Gender"],
  ["age_band", "Age"],
  ["appearance", "Appearance"],
  ["clothing", "Clothing"],
  ["belongings", "Belongings"],
  ["site_type", "Where they sleep"],
];

const WHEN = new Intl.DateTimeFormat("en-GB", { dateStyle: "medium", timeStyle: "short", timeZone: "Europe/London" });

function facts(list: HTMLElement, detail: Json): void {
  list.replaceChildren();
  for (const [key, label] of DETAIL_FIELDS) {
    const value = detail[key];
    row(list, label, key.endsWith("_at") && typeof value === "string" ? WHEN.format(new Date(value)) : value);
  }
}

async function openTriage(item: QueueRow): Promise<void> {
  current = item;
  byId("compare").hidden = true;
  const section = byId("triage");
  section.hidden = false;
  byId("triage-message").textContent = "";
  byId("triage-title").textContent = `Referral ${item.reference}`;
  // Nothing of the referral shown before stays while this one loads (a click on its
  // duplicates would act on the wrong referral).
  delete section.dataset.loaded;
  byId("triage-details").replaceChildren();
  byId("duplicate-list").replaceChildren();
  byId("duplicates").hidden = true;
  const detail = await api<Json>(`/v1/referrals/${item.id}`);
  if (current?.id !== item.id) {
    return; // another referral was opened meanwhile (a queue refresh keeps the id, not the object)
  }
  facts(byId("triage-details"), detail);
  const map = makeMap("triage-map", (event) => {
    byId<HTMLInputElement>("place-lat").value = event.lngLat.lat.toFixed(6);
    byId<HTMLInputElement>("place-lon").value = event.lngLat.lng.toFixed(6);
    showPoints(map, [{ lon: event.lngLat.lng, lat: event.lngLat.lat, colour: "#f47738" }], map.getZoom());
  });
  const lat = detail.lat as number | null;
  const lon = detail.lon as number | null;
  byId<HTMLInputElement>("place-lat").value = lat === null ? "" : String(lat);
  byId<HTMLInputElement>("place-lon").value = lon === null ? "" : String(lon);
  showPoints(map, lat === null || lon === null ? [] : [{ lon, lat, colour: "#d4351c" }]);
  if (lat === null) {
    map.jumpTo({ center: ESSEX, zoom: 8 });
  }
  byId("forward-form").hidden = !item.out_of_area;
  byId("pin-release").hidden = !item.pinned_team_id;
  renderDuplicates(item);
  section.dataset.loaded = item.reference;
  byId("triage-title").focus();
}

function renderDuplicates(item: QueueRow): void {
  const list = byId("duplicate-list");
  list.replaceChildren();
  byId("duplicates").hidden = item.possible_duplicates.length === 0;
  for (const other of item.possible_duplicates) {
    const known = queueRows.find((r) => r.id === other);
    const button = el("button", `Compare with ${known ? known.reference : other}`, "secondary");
    button.type = "button";
    button.dataset.other = other;
    button.addEventListener("click", () => void openCompare(item.id, other));
    const li = el("li");
    li.append(button);
    list.append(li);
  }
}

byId("triage-close").addEventListener("click", () => {
  byId("triage").hidden = true;
  current = null;
});

function triageSaid(message: string): void {
  byId("triage-message").textContent = message;
}

function typedPosition(): void {
  const map = maps["triage-map"];
  const lat = Number.parseFloat(byId<HTMLInputElement>("place-lat").value);
  const lon = Number.parseFloat(byId<HTMLInputElement>("place-lon").value);
  if (map && Number.isFinite(lat) && Number.isFinite(lon) && Math.abs(lat) <= 90 && Math.abs(lon) <= 180) {
    showPoints(map, [{ lon, lat, colour: "#f47738" }], Math.max(map.getZoom(), 12));
  }
}

byId("place-lat").addEventListener("change", typedPosition);
byId("place-lon").addEventListener("change", typedPosition);

byId("place-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  if (!current) {
    return;
  }
  const lat = Number.parseFloat(byId<HTMLInputElement>("place-lat").value);
  const lon = Number.parseFloat(byId<HTMLInputElement>("place-lon").value);
  if (!Number.isFinite(lat) || !Number.isFinite(lon)) {
    triageSaid("Give a latitude and a longitude (or click the map).");
    return;
  }
  const note = byId<HTMLInputElement>("place-note").value.trim();
  try {
    const placed = await api<Json>(`/v1/referrals/${current.id}/location`, {
      method: "PUT",
      body: JSON.stringify(note ? { lon, lat, note } : { lon, lat }),
    });
    const team = placed.team_name ? `assigned to ${placed.team_name}` : "no team covers it";
    await loadQueue();
    triageSaid(`Placed: ${placed.authority_code ?? "outside Greater Essex"}, ${team}.`);
  } catch (err) {
    triageSaid(`Not placed (${(err as Error).message}).`);
  }
});

byId("pin-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  if (!current) {
    return;
  }
  const body: Json = { team_id: Number(byId<HTMLSelectElement>("pin-team").value) };
  const date = byId<HTMLInputElement>("pin-date").value;
  const note = byId<HTMLInputElement>("pin-note").value.trim();
  if (date) {
    body.shift_date = date;
  }
  if (note) {
    body.note = note;
  }
  try {
    const pinned = await api<Json>(`/v1/assignments/referral:${current.id}`, {
      method: "PUT",
      body: JSON.stringify(body),
    });
    await loadQueue();
    byId("pin-release").hidden = false;
    triageSaid(`Pinned to ${pinned.team_name ?? "the team"}.`);
  } catch (err) {
    triageSaid(`Not pinned (${(err as Error).message}).`);
  }
});

byId("pin-release").addEventListener("click", async () => {
  if (!current) {
    return;
  }
  try {
    await api(`/v1/assignments/referral:${current.id}`, { method: "DELETE" });
    await loadQueue();
    byId("pin-release").hidden = true;
    triageSaid("Pin released.");
  } catch (err) {
    triageSaid(`Not released (${(err as Error).message}).`);
  }
});

byId("forward-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  if (!current) {
    return;
  }
  try {
    await api(`/v1/referrals/${current.id}/forward`, {
      method: "POST",
      body: JSON.stringify({ note: byId<HTMLInputElement>("forward-note").value.trim() }),
    });
    await loadQueue();
    triageSaid("Forwarded and closed.");
  } catch (err) {
    triageSaid(`Not forwarded (${(err as Error).message}).`);
  }
});

// --- duplicates side by side ------------------------------------------------------------------

async function openCompare(one: string, other: string): Promise<void> {
  const [a, b] = await Promise.all([api<Json>(`/v1/referrals/${one}`), api<Json>(`/v1/referrals/${other}`)]);
  // A is the older, B the newer: confirming closes B as a duplicate of A.
  const pair: [Json, Json] = String(a.received_at) <= String(b.received_at) ? [a, b] : [b, a];
  comparePair = pair;
  byId("triage").hidden = true;
  const section = byId("compare");
  section.hidden = false;
  facts(byId("compare-a"), pair[0]);
  facts(byId("compare-b"), pair[1]);
  byId("compare-a").prepend(el("dt", "A (older)", "side"), el("dd", "blue on the map"));
  byId("compare-b").prepend(el("dt", "B (newer)", "side"), el("dd", "red on the map"));
  const map = makeMap("compare-map");
  const points = pair
    .map((detail, i) => ({
      lon: detail.lon as number,
      lat: detail.lat as number,
      colour: i ? "#d4351c" : "#1d70b8",
      radius: i ? 7 : 13, // A drawn larger, so both show where they coincide
    }))
    .filter((p) => p.lon !== null && p.lat !== null);
  showPoints(map, points, 16);
  byId("compare-title").focus();
}

async function decide(confirm: boolean): Promise<void> {
  if (!comparePair) {
    return;
  }
  const [a, b] = comparePair;
  try {
    await api(`/v1/referrals/${b.id}/duplicate-of/${a.id}`, { method: confirm ? "POST" : "DELETE" });
    await loadQueue();
    byId("compare").hidden = true;
    comparePair = null;
    say(confirm ? `${b.reference} closed as a duplicate of ${a.reference}.` : "Marked as not the same.");
  } catch (err) {
    say(`No decision recorded (${(err as Error).message}).`);
  }
}

byId("dup-confirm").addEventListener("click", () => void decide(true));
byId("dup-reject").addEventListener("click", () => void decide(false));
byId("compare-close").addEventListener("click", () => {
  byId("compare").hidden = true;
  comparePair = null;
});

// --- figures --------------------------------------------------------------------------------

function isoDay(date: Date): string {
  return date.toISOString().slice(0, 10);
}

function defaultPeriod(fromId: string, toId: string, days: number): void {
  const from = byId<HTMLInputElement>(fromId);
  const to = byId<HTMLInputElement>(toId);
  if (!to.value) {
    to.value = isoDay(new Date());
  }
  if (!from.value) {
    from.value = isoDay(new Date(Date.now() - (days - 1) * 86400000));
  }
}

function shown(value: unknown): string {
  if (value === null || value === undefined) {
    return "—";
  }
  if (typeof value === "number" && !Number.isInteger(value)) {
    return value.toFixed(2);
  }
  return String(value);
}

let chart: uPlot | null = null;
let dashboardRequest = 0;

async function loadDashboard(): Promise<void> {
  defaultPeriod("d-from", "d-to", 84);
  const request = ++dashboardRequest;
  const params = new URLSearchParams({
    from: byId<HTMLInputElement>("d-from").value,
    to: byId<HTMLInputElement>("d-to").value,
  });
  const authority = byId<HTMLSelectElement>("d-authority").value;
  if (authority) {
    params.set("authority", authority);
  }
  try {
    const [stats, weekly] = await Promise.all([
      api<{ authorities: Json[]; teams: Json[] }>(`/v1/stats?${params}`),
      api<{ weeks: { week_start: string; referrals: number; contacts: number }[] }>(`/v1/stats/weekly?${params}`),
    ]);
    if (request !== dashboardRequest) {
      return; // a later request (another period) answers instead
    }
    renderFigures(stats.authorities, stats.teams);
    renderWeekly(weekly.weeks);
    main.dataset.dashboard = `${params.get("from")}/${params.get("to")}`;
  } catch (err) {
    say(`Figures could not be loaded (${(err as Error).message}).`);
  }
}

function renderFigures(authorities: Json[], teamRows: Json[]): void {
  const body = byId("dash-body");
  body.replaceChildren();
  for (const figures of [...authorities, ...teamRows]) {
    const tr = el("tr");
    tr.dataset.kind = String(figures.kind);
    tr.dataset.key = String(figures.code ?? figures.team_id);
    const name = el("th", `${figures.name}${figures.exact ? "" : " (suppressed)"}`);
    name.scope = "row";
    tr.append(name);
    for (const key of [
      "referrals_received",
      "found_rate",
      "median_hours_to_first_attempt",
      "median_hours_to_outcome",
      "sla_breaches",
      "contacts",
    ]) {
      const td = el("td", shown(figures[key]));
      td.dataset.field = key;
      tr.append(td);
    }
    body.append(tr);
  }
  const codes = new Set<string>();
  for (const figures of authorities) {
    for (const code of Object.keys((figures.outcomes as Json) ?? {})) {
      codes.add(code);
    }
  }
  const head = el("tr");
  const corner = el("th", "Authority");
  corner.scope = "col";
  head.append(corner);
  for (const code of codes) {
    const th = el("th", code.replaceAll("_", " "));
    th.scope = "col";
    head.append(th);
  }
  byId("outcome-head").replaceChildren(head);
  const outcomeBody = byId("outcome-body");
  outcomeBody.replaceChildren();
  for (const figures of authorities) {
    const tr = el("tr");
    const name = el("th", String(figures.name));
    name.scope = "row";
    tr.append(name);
    const outcomes = (figures.outcomes as Record<string, { count: unknown }>) ?? {};
    for (const code of codes) {
      tr.append(el("td", shown(outcomes[code]?.count ?? 0)));
    }
    outcomeBody.append(tr);
  }
}

function renderWeekly(weeks: { week_start: string; referrals: number; contacts: number }[]): void {
  const body = byId("weekly-body");
  body.replaceChildren();
  for (const week of weeks) {
    const tr = el("tr");
    const th = el("th", week.week_start);
    th.scope = "row";
    tr.append(th, el("td", String(week.referrals)), el("td", String(week.contacts)));
    body.append(tr);
  }
  const target = byId("weekly-chart");
  const data: uPlot.AlignedData = [
    weeks.map((w) => Date.parse(`${w.week_start}T00:00:00Z`) / 1000),
    weeks.map((w) => w.referrals),
    weeks.map((w) => w.contacts),
  ];
  const width = Math.max(320, Math.min(target.parentElement?.clientWidth ?? 800, 1100));
  chart?.destroy();
  chart = new uPlot(
    {
      width,
      height: 260,
      series: [
        { label: "Week" },
        { label: "Referrals", stroke: "#912b88", width: 2, points: { show: true } },
        { label: "Contacts", stroke: "#00703c", width: 2, points: { show: true } },
      ],
      axes: [
        {
          values: (_chart, ticks) =>
            ticks.map((t) => new Date(t * 1000).toLocaleDateString("en-GB", { day: "numeric", month: "short" })),
        },
        { label: "Count" },
      ],
      scales: { x: { time: true } },
    },
    data,
    target,
  );
  target.dataset.ready = "1";
}

byId("dash-form").addEventListener("submit", (event) => {
  event.preventDefault();
  void loadDashboard();
});

// --- hotspots -------------------------------------------------------------------------------

async function loadHotspots(): Promise<void> {
  let collection: { features: Hotspot[] };
  try {
    collection = await api<{ features: Hotspot[] }>("/v1/hotspots");
  } catch (err) {
    say(`Hotspots could not be loaded (${(err as Error).message}).`);
    return;
  }
  const body = byId("hotspot-body");
  body.replaceChildren();
  const teamName = (id: number | null): string => teams.find((t) => t.id === id)?.name ?? "—";
  const day = (iso: string | null): string => (iso ? iso.slice(0, 16).replace("T", " ") : "—");
  for (const hotspot of collection.features) {
    const p = hotspot.properties;
    const tr = el("tr");
    tr.dataset.id = String(hotspot.id);
    const button = el("button", `Hotspot ${hotspot.id}`, "link");
    button.type = "button";
    button.addEventListener("click", () => void showHotspot(hotspot));
    const first = el("td");
    first.append(button);
    tr.append(
      first,
      el("td", String(p.member_count)),
      el("td", p.layer.replaceAll("_", " ")),
      el("td", day(p.first_activity_at)),
      el("td", day(p.last_activity_at)),
      el("td", teamName(p.team_id)),
    );
    body.append(tr);
  }
  makeMap("hotspot-map");
}

async function showHotspot(hotspot: Hotspot): Promise<void> {
  const map = makeMap("hotspot-map");
  if (hotspot.geometry) {
    const [lon, lat] = hotspot.geometry.coordinates;
    showPoints(map, [{ lon, lat, colour: "#912b88" }], 15);
  }
  byId("hotspot-title").textContent = `Hotspot ${hotspot.id}: history`;
  const list = byId("hotspot-history");
  list.replaceChildren();
  const detail = await api<{ history: { kind: string; related: number[]; at: string }[] }>(
    `/v1/hotspots/${hotspot.id}`,
  );
  for (const event of detail.history) {
    const related = event.related.length ? ` (with ${event.related.join(", ")})` : "";
    list.append(el("li", `${event.at.slice(0, 16).replace("T", " ")}: ${event.kind}${related}`));
  }
  if (!detail.history.length) {
    list.append(el("li", "No merges or splits."));
  }
  byId("hotspot-map").dataset.shown = String(hotspot.id);
  byId("hotspot-title").focus();
}

// --- exports --------------------------------------------------------------------------------

function exportQuery(): URLSearchParams {
  const params = new URLSearchParams();
  const from = byId<HTMLInputElement>("e-from").value;
  const to = byId<HTMLInputElement>("e-to").value;
  if (from) {
    params.set("from", from);
  }
  if (to) {
    params.set("to", to);
  }
  return params;
}

async function countExports(): Promise<void> {
  try {
    const counts = await api<{ referrals: number; contacts: number }>(`/v1/exports/counts?${exportQuery()}`);
    byId("export-referrals").textContent = `Referrals CSV (${counts.referrals} rows)`;
    byId("export-contacts").textContent = `Contacts CSV (${counts.contacts} rows)`;
    byId("export-status").textContent = "Row counts are for now; each download is recorded.";
  } catch (err) {
    byId("export-status").textContent = `Counts not available (${(err as Error).message}).`;
  }
}

byId("export-form").addEventListener("submit", (event) => {
  event.preventDefault();
  void countExports();
});

for (const button of document.querySelectorAll<HTMLButtonElement>("[data-export]")) {
  button.addEventListener("click", async () => {
    const name = button.dataset.export ?? "";
    const query = exportQuery();
    if (name === "snapshot.csv" && !query.has("from")) {
      // the snapshot return is for a period: default to the last calendar month
      const now = new Date();
      const first = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - 1, 1));
      const last = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 0));
      query.set("from", isoDay(first));
      query.set("to", isoDay(last));
    }
    const response = await fetch(`/v1/exports/${name}?${query}`, { headers: authHeaders() });
    if (!response.ok) {
      byId("export-status").textContent = `The export failed (${response.status}).`;
      return;
    }
    const blob = await response.blob();
    const link = el("a");
    link.href = URL.createObjectURL(blob);
    link.download = name.replace(".csv", `-${isoDay(new Date())}.csv`);
    document.body.append(link);
    link.click();
    link.remove();
    byId("export-status").textContent = `Downloaded ${name}.`;
  });
}

void start();
