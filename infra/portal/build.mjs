// Bundles the portal into dist/ (app.js, app.css, index.html) with esbuild: one file each, no CDN.
import { build } from "esbuild";
import { copyFile, mkdir } from "node:fs/promises";

const here = new URL(".", import.meta.url).pathname;
await mkdir(`${here}dist`, { recursive: true });
await build({
  entryPoints: [`${here}src/main.tsx`],
  bundle: true,
  minify: true,
  sourcemap: true,
  format: "esm",
  target: "es2022",
  jsx: "automatic",
  jsxImportSource: "preact",
  outfile: `${here}dist/app.js`,
  logLevel: "warning",
});
await copyFile(`${here}src/style.css`, `${here}dist/app.css`);
await copyFile(`${here}index.html`, `${here}dist/index.html`);
