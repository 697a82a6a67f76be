// Libraries loaded as classic scripts from /static/vendor (kept out of the page bundles so
// the browser caches them once for every page).
declare const maplibregl: typeof import("maplibre-gl");
declare function SwaggerUIBundle(options: { url: string; dom_id: string; deepLinking?: boolean }): unknown;
