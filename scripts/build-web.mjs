// Builds the browser code: every top-level service/web/src/*.ts is a page (or worker) entry,
// bundled by esbuild into service/web/static/build/<name>.js (gitignored; `scripts/dev.sh
// assets` runs this). Type checking is tsc's job (`make lint`), not esbuild's.
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { build } from "esbuild";

const src = "service/web/src";
const entryPoints = readdirSync(src)
  .filter((name) => name.endsWith(".ts") && !name.endsWith(".d.ts"))
  .map((name) => join(src, name));

await build({
  entryPoints,
  outdir: "service/web/static/build",
  bundle: true,
  format: "iife", // classic scripts: pages and service workers alike, under the strict CSP
  target: ["es2020", "chrome100", "firefox100", "safari15"],
  minify: true,
  sourcemap: true,
  legalComments: "linked",
  logLevel: "warning",
});
