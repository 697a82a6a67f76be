// The base map under every map page: the configured style (OpenFreeMap by default, or the
// service's own PMTiles archive through the pmtiles protocol), or a blank background when
// none is configured or it cannot be loaded; the page says which.
import type { Map as MapLibreMap, StyleSpecification } from "maplibre-gl";
import { Protocol } from "pmtiles";

let registered = false;

/** Let MapLibre read `pmtiles://` sources (the self-hosted base map, by HTTP range requests). */
export function registerPmtiles(): void {
  if (!registered) {
    maplibregl.addProtocol("pmtiles", new Protocol().tile);
    registered = true;
  }
}

export function blankStyle(colour: string): StyleSpecification {
  return {
    version: 8,
    sources: {},
    layers: [{ id: "background", type: "background", paint: { "background-color": colour } }],
  };
}

export const UNREACHABLE =
  "The base map could not be loaded, so the map is blank: a plain background without streets or place names. It still works.";

/** When the base map's style cannot be loaded, switch to the blank background and say so.
 * The page's own layers are added on every `style.load`, so they come back on the blank one. */
export function fallBackToBlank(map: MapLibreMap, blank: StyleSpecification, note: HTMLElement): void {
  let settled = false;
  map.once("style.load", () => {
    settled = true;
  });
  map.on("error", () => {
    if (settled) {
      return;
    }
    settled = true;
    note.textContent = UNREACHABLE;
    note.hidden = false;
    map.getContainer().dataset.basemap = "blank";
    map.setStyle(blank);
  });
}
