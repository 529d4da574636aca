// Compiles test/*.test.ts with esbuild into .test-out/ and runs them with
// node's test runner (no TypeScript support needed in Node itself).

import { build } from "esbuild";
import { spawnSync } from "node:child_process";
import { readdirSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, "..", ".test-out");
const tests = readdirSync(here).filter((f) => f.endsWith(".test.ts")).sort();
if (tests.length === 0) {
  console.error("no test files in test/");
  process.exit(1);
}

rmSync(out, { recursive: true, force: true });
await build({
  entryPoints: tests.map((f) => join(here, f)),
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node18",
  outdir: out,
  outExtension: { ".js": ".mjs" },
  packages: "external",
  sourcemap: "inline",
  logLevel: "warning",
});

const files = tests.map((f) => join(out, f.replace(/\.ts$/, ".mjs")));
const res = spawnSync(process.execPath, ["--enable-source-maps", "--test", ...files], { stdio: "inherit" });
process.exit(res.status ?? 1);
