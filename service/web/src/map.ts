// The staff map: sign in (the token stays in this tab's sessionStorage), then vector tiles
// from /v1/tiles with the token. Everything shown about a feature is set with textContent,
// never as HTML: descriptions are typed by members of the public.
import type {
  ExpressionSpecification,
  LayerSpecification,
  MapGeoJSONFeature,
  MapLayerMouseEvent,
  MapMouseEvent,
  Map as MapLibreMap,
  RequestParameters,
  StyleSpecification,
  VectorTileSource,
} from "maplibre-gl";
import { byId, row } from "./lib/dom";
import { authHeaders, forget, signIn, token } from "./lib/staff_auth";

type Props = Record<string, unknown>;

const ESSEX: [number, number] = [0.65, 51.78];
const BLANK: StyleSpecification = {
  version: 8,
  sources: {},
  layers: [{ id: "background", type: "background", paint: { "background-color": "#eef2f5" } }],
};
const STATUS_COLOURS: ExpressionSpecification = [
  "match",
  ["get", "status"],
  "received",
  "#d4351c",
  "assigned",
  "#f47738",
  "attempted",
  "#1d70b8",
  "closed",
  "#b1b4b6",
  "#505a5f",
];
const HOTSPOT_COLOURS: ExpressionSpecification = [
  "match",
  ["get", "layer"],
  "public_reports",
  "#912b88",
  "verified_bedded_down",
  "#00703c",
  "#28a197",
];
const INTERACTIVE = ["hotspots", "referrals", "contacts", "referral-cells", "contact-cells"];

const node = byId("staff-map");
const signin = byId("signin");
const app = byId("map-app");
const statusLine = byId("map-status");
const details = byId("details");
const detailsBody = byId("details-body");
const windowSelect = byId<HTMLSelectElement>("window-days");
let map: MapLibreMap | null = null;

function showSignIn(message: string): void {
  forget();
  app.hidden = true;
  signin.hidden = false;
  byId("signin-error").textContent = message;
  if (map) {
    map.remove();
    map = null;
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
    start();
  } catch (err) {
    error.textContent = (err as Error).message;
  }
});

byId("signout").addEventListener("click", () => showSignIn(""));
byId("details-close").addEventListener("click", () => {
  details.hidden = true;
});

function tilesUrl(): string {
  return `${window.location.origin}${node.dataset.tilesPath}?window_days=${encodeURIComponent(windowSelect.value)}`;
}

function authorise(url: string): RequestParameters {
  const ours = url.startsWith(`${window.location.origin}/v1/`);
  return ours ? { url, headers: authHeaders() } : { url };
}

function addLayers(target: MapLibreMap): void {
  target.addSource("staff", { type: "vector", tiles: [tilesUrl()], minzoom: 0, maxzoom: 14 });
  const add = (spec: Record<string, unknown>): void => {
    target.addLayer({ source: "staff", ...spec } as LayerSpecification);
  };
  add({
    id: "areas-fill",
    type: "fill",
    "source-layer": "areas",
    paint: { "fill-color": "#ffffff", "fill-opacity": 0.5 },
  });
  add({ id: "areas-line", type: "line", "source-layer": "areas", paint: { "line-color": "#505a5f", "line-width": 1 } });
  add({
    id: "teams-line",
    type: "line",
    "source-layer": "teams",
    paint: { "line-color": "#1d70b8", "line-width": 2, "line-dasharray": [2, 2], "line-opacity": 0.6 },
  });
  for (const kind of ["referral", "contact"]) {
    add({
      id: `${kind}-cells`,
      type: "fill",
      "source-layer": `${kind}_cells`,
      paint: {
        "fill-color": "#6f72af",
        "fill-outline-color": "#3d4073",
        "fill-opacity": [
          "case",
          ["has", "count"],
          ["interpolate", ["linear"], ["get", "count"], 5, 0.25, 100, 0.6],
          0.12,
        ],
      },
    });
  }
  add({
    id: "hotspots",
    type: "circle",
    "source-layer": "hotspots",
    paint: {
      "circle-color": HOTSPOT_COLOURS,
      "circle-opacity": 0.45,
      "circle-stroke-color": HOTSPOT_COLOURS,
      "circle-stroke-width": 2,
      "circle-radius": ["interpolate", ["linear"], ["get", "member_count"], 1, 8, 20, 18, 100, 36],
    },
  });
  add({
    id: "contacts",
    type: "circle",
    "source-layer": "contacts",
    paint: {
      "circle-radius": 4,
      "circle-color": ["case", ["get", "bedded_down"], "#0b0c0c", "#ffffff"],
      "circle-stroke-color": "#0b0c0c",
      "circle-stroke-width": 1,
    },
  });
  add({
    id: "referrals",
    type: "circle",
    "source-layer": "referrals",
    paint: {
      "circle-radius": ["case", ["get", "urgent"], 7, 5],
      "circle-color": STATUS_COLOURS,
      "circle-stroke-color": "#ffffff",
      "circle-stroke-width": 1.5,
    },
  });
}

function start(): void {
  signin.hidden = true;
  app.hidden = false;
  if (map) {
    return;
  }
  const created = new maplibregl.Map({
    container: node,
    style: node.dataset.styleUrl || BLANK,
    center: ESSEX,
    zoom: 8,
    hash: true,
    attributionControl: false,
    transformRequest: authorise,
  });
  map = created;
  created.addControl(new maplibregl.NavigationControl({ showCompass: false }));
  created.on("load", () => addLayers(created));
  created.on("idle", () => {
    node.dataset.ready = "1";
  });
  created.on("error", (event: { error?: { status?: number } }) => {
    const status = event.error?.status;
    if (status === 401) {
      showSignIn("Your sign-in has expired: please sign in again.");
    } else if (status) {
      statusLine.textContent = `Some map tiles could not be loaded (${status}).`;
    }
  });
  created.on("click", (event) => showDetails(created, event));
  for (const id of INTERACTIVE) {
    created.on("mouseenter", id, (_event: MapLayerMouseEvent) => {
      created.getCanvas().style.cursor = "pointer";
    });
    created.on("mouseleave", id, (_event: MapLayerMouseEvent) => {
      created.getCanvas().style.cursor = "";
    });
  }
}

windowSelect.addEventListener("change", () => {
  const source = map?.getSource<VectorTileSource>("staff");
  if (!source) {
    return;
  }
  node.dataset.ready = "";
  source.setTiles([tilesUrl()]);
});

for (const box of document.querySelectorAll<HTMLInputElement>("#layer-toggles input")) {
  box.addEventListener("change", () => {
    if (!map) {
      return;
    }
    for (const id of (box.dataset.layers ?? "").split(" ")) {
      if (map.getLayer(id)) {
        map.setLayoutProperty(id, "visibility", box.checked ? "visible" : "none");
      }
    }
  });
}

// ---- details panel: only textContent, never innerHTML
function section(): { box: HTMLElement; heading: HTMLElement; list: HTMLElement } {
  const box = document.createElement("section");
  const heading = document.createElement("h2");
  const list = document.createElement("dl");
  box.append(heading, list);
  detailsBody.appendChild(box);
  return { box, heading, list };
}

const DESCRIBE: Record<string, (p: Props, list: HTMLElement) => string> = {
  hotspots(p, list) {
    row(list, "Kind", String(p.layer).replace(/_/g, " "));
    row(list, "Points", p.member_count);
    row(list, "Referrals", p.referral_count);
    row(list, "Contacts", p.contact_count);
    row(list, "Seen bedded down", p.bedded_down_count);
    row(list, "Active since", p.first_activity_at);
    row(list, "Last activity", p.last_activity_at);
    if (p.hidden_members) {
      row(
        list,
        "Not shown",
        `${p.hidden_members} (outside your teams or areas; position, counts and times are of the points you may see, to the nearest 1 km and day)`,
      );
    }
    return `Hotspot ${p.id}`;
  },
  referrals(p, list) {
    row(list, "Status", p.status);
    row(list, "Outcome", p.outcome);
    row(list, "Urgent", p.urgent ? "yes" : "no");
    row(list, "Received", p.received_at);
    row(list, "Searches", p.attempts);
    void loadReferral(String(p.id), list);
    return `Referral ${p.reference}`;
  },
  contacts(p, list) {
    row(list, "Seen", p.observed_at);
    row(list, "Bedded down", p.bedded_down ? "yes" : "no");
    row(list, "Contact", String(p.contact_type).replace(/_/g, " "));
    row(list, "Engagement", p.engagement);
    return "Contact";
  },
  cells(p, list) {
    row(list, "Count", p.label);
    row(list, "Month", p.month);
    row(
      list,
      "Note",
      "Outside your teams or areas: counts for the last whole month, under 5 (or that would reveal one) not shown.",
    );
    return "Activity elsewhere";
  },
};

async function loadReferral(id: string, list: HTMLElement): Promise<void> {
  const response = await fetch(`/v1/referrals/${encodeURIComponent(id)}`, { headers: authHeaders() });
  if (!response.ok) {
    return;
  }
  const d = (await response.json()) as Props;
  row(list, "Where", d.location_description);
  row(list, "Site", d.site_type);
  row(list, "People", d.people_count);
  row(list, "Appearance", d.appearance);
  row(list, "Clothing", d.clothing);
  row(list, "Belongings", d.belongings);
  list.dataset.loaded = "1";
}

function showDetails(target: MapLibreMap, event: MapMouseEvent): void {
  const layers = INTERACTIVE.filter((id) => target.getLayer(id));
  const features: MapGeoJSONFeature[] = target.queryRenderedFeatures(event.point, { layers }).slice(0, 6);
  if (!features.length) {
    details.hidden = true;
    return;
  }
  detailsBody.textContent = "";
  for (const feature of features) {
    const kind = feature.layer.id.includes("cells") ? "cells" : feature.layer.id;
    const { box, heading, list } = section();
    box.dataset.kind = kind;
    heading.textContent = DESCRIBE[kind]?.(feature.properties as Props, list) ?? "";
  }
  details.hidden = false;
}

if (token()) {
  start();
} else {
  showSignIn("");
}
