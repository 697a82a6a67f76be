// Builds the browser code: every top-level service/web/src/*.ts is a page (or worker) entry,
// bundled by esbuild into service/web/static/build/<name>.js (gitignored; `scripts/dev.sh
// assets` runs this). Type checking is tsc's job (`make lint`), not esbuild's.
// Service workers (`*_sw.ts`) are built last, with the list of what they precache and a
// revision (content hash) for each: APP_SHELL below, checked by tests/e2e/test_field_app.py.
import { createHash } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { build } from "esbuild";

const src = "service/web/src";
const entries = readdirSync(src).filter((name) => name.endsWith(".ts") && !name.endsWith(".d.ts"));
const options = {
  outdir: "service/web/static/build",
  bundle: true,
  format: "iife", // classic scripts: pages and service workers alike, under the strict CSP
  target: ["es2020", "chrome100", "firefox100", "safari15"],
  minify: true,
  sourcemap: true,
  legalComments: "linked",
  logLevel: "warning",
};

await build({
  ...options,
  entryPoints: entries.filter((name) => !name.endsWith("_sw.ts")).map((name) => join(src, name)),
});

// The field app's shell: URL -> the files its content comes from.
const APP_SHELL = {
  "/app": ["service/web/templates/app.html", "service/usecases/staff/field_app.py", "service/vocabularies.py"],
  "/app/manifest.webmanifest": ["service/usecases/staff/field_app.py"],
  "/static/build/app.js": ["service/web/static/build/app.js"],
  "/static/app.css": ["service/web/static/app.css"],
  "/static/vendor/maplibre-gl/maplibre-gl.js": ["service/web/static/vendor/maplibre-gl/maplibre-gl.js"],
  "/static/vendor/maplibre-gl/maplibre-gl.css": ["service/web/static/vendor/maplibre-gl/maplibre-gl.css"],
  "/static/icons/app-192.png": ["service/web/static/icons/app-192.png"],
  "/static/icons/app-512.png": ["service/web/static/icons/app-512.png"],
  "/static/icons/app-maskable-512.png": ["service/web/static/icons/app-maskable-512.png"],
};

function revision(files) {
  const hash = createHash("sha256");
  for (const file of files) {
    hash.update(readFileSync(file));
  }
  return hash.digest("hex").slice(0, 16);
}

const precache = Object.entries(APP_SHELL).map(([url, files]) => ({ url, revision: revision(files) }));
await build({
  ...options,
  entryPoints: entries.filter((name) => name.endsWith("_sw.ts")).map((name) => join(src, name)),
  define: { APP_PRECACHE: JSON.stringify(precache) },
});
