// Builds the dashboard into dist/: index.html, assets/app.js and assets/app.css,
// minified, with ?v=<content hash> on the asset URLs so caches bust when they
// change. Leaves dist/README.txt (and anything else not built here) alone.

import { build } from "esbuild";
import { createHash } from "node:crypto";
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";

const here = dirname(fileURLToPath(import.meta.url));
const src = join(here, "src");
const dist = join(here, "dist");
const assets = join(dist, "assets");

const hash = (buf) => createHash("sha256").update(buf).digest("hex").slice(0, 12);

await rm(assets, { recursive: true, force: true });
await rm(join(dist, "index.html"), { force: true });
await mkdir(assets, { recursive: true });

const result = await build({
  entryPoints: { app: join(src, "main.ts") },
  bundle: true,
  minify: true,
  format: "iife",
  target: ["es2020", "chrome90", "firefox90", "safari15"],
  outdir: assets,
  entryNames: "[name]",
  legalComments: "none",
  metafile: true,
  logLevel: "warning",
  write: false,
});

let js = null;
let css = null;
for (const f of result.outputFiles) {
  if (f.path.endsWith(".js")) js = f.contents;
  else if (f.path.endsWith(".css")) css = f.contents;
}
if (!js || !css) throw new Error("esbuild did not produce app.js and app.css");

await writeFile(join(assets, "app.js"), js);
await writeFile(join(assets, "app.css"), css);

const template = await readFile(join(src, "index.html"), "utf8");
if (!template.includes("__JS_HASH__") || !template.includes("__CSS_HASH__")) {
  throw new Error("src/index.html lacks the __JS_HASH__ / __CSS_HASH__ placeholders");
}
const html = template.replace("__JS_HASH__", hash(js)).replace("__CSS_HASH__", hash(css));
await writeFile(join(dist, "index.html"), html);

const kb = (n) => `${(n / 1024).toFixed(1)} KiB`;
const line = (name, buf) => `  ${name.padEnd(17)} ${kb(buf.length).padStart(10)}  (gzip ${kb(gzipSync(buf).length)})`;
console.log(["dist/", line("index.html", Buffer.from(html)), line("assets/app.js", js), line("assets/app.css", css)].join("\n"));
