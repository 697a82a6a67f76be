// The report form's map pin: progressive enhancement only (the form works without it).
// The map shows nothing but the reporter's own pin: no other alerts, ever.
import type { LngLatLike, Map as MapLibreMap, Marker } from "maplibre-gl";
import { blankStyle, fallBackToBlank, registerPmtiles } from "./lib/basemap";
import { byId } from "./lib/dom";

const ESSEX: [number, number] = [0.65, 51.78];
const BLANK = blankStyle("#e8eef3");

interface PlaceResult {
  kind: string;
  name: string;
  context: string | null;
  lon: number;
  lat: number;
  accuracy_m: number;
}

function main(): void {
  const panel = document.getElementById("map-panel");
  const node = document.getElementById("map");
  if (!panel || !node || typeof maplibregl === "undefined") {
    return;
  }
  const lat = byId<HTMLInputElement>("lat");
  const lon = byId<HTMLInputElement>("lon");
  const accuracy = byId<HTMLInputElement>("accuracy_m");
  const status = byId("pin-status");
  panel.hidden = false;
  registerPmtiles();
  node.dataset.basemap = node.dataset.styleUrl ? "style" : "blank";
  const map: MapLibreMap = new maplibregl.Map({
    container: node,
    style: node.dataset.styleUrl || BLANK,
    center: ESSEX,
    zoom: 8,
    attributionControl: { compact: true },
  });
  fallBackToBlank(map, BLANK, byId("basemap-note"));
  map.addControl(new maplibregl.NavigationControl({ showCompass: false }));
  // The authorities' outlines (public boundaries only), on the base map or the blank one.
  const ready = (): void => {
    map.once("idle", () => {
      node.dataset.ready = "1";
    });
  };
  map.on("style.load", async () => {
    const response = await fetch("/v1/areas?simplify_m=250");
    if (!response.ok || map.getSource("areas")) {
      ready();
      return;
    }
    map.addSource("areas", { type: "geojson", data: await response.json() });
    const blank = node.dataset.basemap === "blank";
    map.addLayer({
      id: "areas-fill",
      type: "fill",
      source: "areas",
      paint: { "fill-color": "#ffffff", "fill-opacity": blank ? 0.6 : 0.08 },
    });
    map.addLayer({
      id: "areas-line",
      type: "line",
      source: "areas",
      paint: { "line-color": "#505a5f", "line-width": 1 },
    });
    ready();
  });

  let marker: Marker | null = null;
  function place(lngLat: { lng: number; lat: number }, metres: number): void {
    if (!marker) {
      const created = new maplibregl.Marker({ draggable: true }).setLngLat(lngLat as LngLatLike).addTo(map);
      created.on("dragend", () => place(created.getLngLat(), 25));
      marker = created;
    }
    marker.setLngLat(lngLat as LngLatLike);
    lat.value = lngLat.lat.toFixed(6);
    lon.value = lngLat.lng.toFixed(6);
    accuracy.value = String(Math.round(metres));
    status.textContent = `Pin placed at ${lat.value}, ${lon.value}.`;
  }

  map.on("click", (event) => place(event.lngLat, 25));
  if (lat.value && lon.value) {
    place({ lng: Number(lon.value), lat: Number(lat.value) }, Number(accuracy.value || 25));
  }

  // ---- the search box: the gazetteer (postcodes, streets, places) moves the pin
  const query = byId<HTMLInputElement>("place-search");
  const found = byId("place-results");
  const searchStatus = byId("place-search-status");

  async function findPlaces(): Promise<void> {
    found.textContent = "";
    const q = query.value.trim();
    if (q.length < 2) {
      searchStatus.textContent = "Type at least two letters or the start of a postcode.";
      return;
    }
    searchStatus.textContent = "Searching…";
    const response = await fetch(`/v1/places/search?q=${encodeURIComponent(q)}&limit=8`);
    if (!response.ok) {
      searchStatus.textContent = "The search is not available just now: tap the map instead.";
      return;
    }
    const body = (await response.json()) as { results: PlaceResult[]; note: string | null };
    searchStatus.textContent = body.results.length
      ? `${body.results.length} found: choose one to move the pin.`
      : (body.note ?? "Nothing found: try a postcode or tap the map.");
    for (const result of body.results) {
      const item = document.createElement("li");
      const button = document.createElement("button");
      button.type = "button";
      button.className = "secondary";
      button.textContent = result.context ? `${result.name}, ${result.context}` : result.name;
      button.addEventListener("click", () => {
        map.jumpTo({ center: [result.lon, result.lat], zoom: result.kind === "place" ? 13 : 16 });
        place({ lng: result.lon, lat: result.lat }, result.accuracy_m);
        found.textContent = "";
        searchStatus.textContent = `Pin moved to ${button.textContent}: drag it to the exact spot.`;
      });
      item.appendChild(button);
      found.appendChild(item);
    }
  }

  byId("place-search-go").addEventListener("click", () => void findPlaces());
  query.addEventListener("keydown", (event) => {
    if (event.key === "Enter") {
      event.preventDefault(); // not the report form's submit
      void findPlaces();
    }
  });

  byId("use-location").addEventListener("click", () => {
    if (!navigator.geolocation) {
      status.textContent = "Your browser cannot share its location.";
      return;
    }
    navigator.geolocation.getCurrentPosition(
      (pos) => {
        const here = { lng: pos.coords.longitude, lat: pos.coords.latitude };
        map.jumpTo({ center: [here.lng, here.lat], zoom: 16 });
        place(here, pos.coords.accuracy);
      },
      () => {
        status.textContent = "Could not get your location: tap the map instead.";
      },
    );
  });
}

main();
