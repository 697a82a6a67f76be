// The report form's map pin: progressive enhancement only (the form works without it).
// The map shows nothing but the reporter's own pin: no other alerts, ever.
import type { LngLatLike, Map as MapLibreMap, Marker, StyleSpecification } from "maplibre-gl";
import { byId } from "./lib/dom";

const ESSEX: [number, number] = [0.65, 51.78];
const BLANK: StyleSpecification = {
  version: 8,
  sources: {},
  layers: [{ id: "background", type: "background", paint: { "background-color": "#e8eef3" } }],
};

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
  const map: MapLibreMap = new maplibregl.Map({
    container: node,
    style: node.dataset.styleUrl || BLANK,
    center: ESSEX,
    zoom: 8,
    attributionControl: false,
  });
  map.addControl(new maplibregl.NavigationControl({ showCompass: false }));
  // Orientation without a base map: the authorities' outlines (public boundaries only).
  map.on("load", async () => {
    const response = await fetch("/v1/areas?simplify_m=250");
    if (!response.ok) {
      return;
    }
    map.addSource("areas", { type: "geojson", data: await response.json() });
    const below = map.getStyle().layers[1]?.id;
    map.addLayer(
      { id: "areas-fill", type: "fill", source: "areas", paint: { "fill-color": "#ffffff", "fill-opacity": 0.6 } },
      below,
    );
    map.addLayer({
      id: "areas-line",
      type: "line",
      source: "areas",
      paint: { "line-color": "#505a5f", "line-width": 1 },
    });
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
