// Libraries loaded as classic scripts from /static/vendor (kept out of the page bundles so
// the browser caches them once for every page).
declare const maplibregl: typeof import("maplibre-gl");
declare function SwaggerUIBundle(options: { url: string; dom_id: string; deepLinking?: boolean }): unknown;
// Stylesheets imported by a page entry are bundled by esbuild into build/<page>.css.
declare module "*.css";
