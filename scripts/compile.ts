/**
 * Compiles an entry point into a standalone executable with Bun (run by scripts/build.mjs and the benchmark):
 *   bun scripts/compile.ts ENTRY OUTFILE [--target=bun-linux-x64] [--order=FILE,FILE] [--version=V] [--base-url=URL]
 *
 * The settings, and the traps they avoid:
 * - bytecode needs format "esm": with CJS output a bytecode build "succeeds" and the binary cannot start;
 * - autoloadDotenv/autoloadBunfig off: otherwise the binary reads .env and bunfig.toml from the working directory;
 * - NODE_ENV defined as "production": otherwise it is frozen to "development" at build time;
 * - splitting: lazily imported commands become chunks, so `--version` and `lint` do not load the gateway;
 * - `yaml` resolves to its ESM build: its CommonJS build (what the "node" condition picks) costs 3 MiB more
 *   memory and 3 ms more start-up in every command that reads a config;
 * - an optional bytecode order (recorded by running the binary) packs the code a run uses together;
 * - `--version` and `--base-url` replace src/version.ts: a release bakes in the site `self-update` reads, and
 *   tests build the same program under another version number.
 */
import { rmSync } from "node:fs";
import { join } from "node:path";

const [entry, outfile] = process.argv.slice(2);
if (!entry || !outfile)
  throw new Error("usage: bun scripts/compile.ts ENTRY OUTFILE [--target=…] [--order=…]");
const option = (name: string) => process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
const root = join(import.meta.dir, "..");

const yamlEsm: import("bun").BunPlugin = {
  name: "yaml-esm",
  setup(build) {
    build.onResolve({ filter: /^yaml$/ }, () => ({
      path: join(root, "node_modules", "yaml", "browser", "index.js"),
    }));
  },
};

const baked = { version: option("version"), baseUrl: option("base-url") };
const versionModule: import("bun").BunPlugin = {
  name: "version",
  setup(build) {
    build.onLoad({ filter: /[\\/]src[\\/]version\.ts$/ }, async (args) => {
      const { VERSION, RELEASE_BASE_URL } = await import(args.path);
      const version = baked.version ?? VERSION;
      const baseUrl = baked.baseUrl ?? RELEASE_BASE_URL;
      return {
        loader: "ts",
        contents: `export const VERSION = ${JSON.stringify(version)};\nexport const RELEASE_BASE_URL: string | undefined = ${JSON.stringify(baseUrl)};\n`,
      };
    });
  },
};

const order = option("order")?.split(",").filter(Boolean);
const result = await Bun.build({
  entrypoints: [entry],
  compile: {
    outfile,
    autoloadDotenv: false,
    autoloadBunfig: false,
    ...(option("target") ? { target: option("target") as Bun.Build.CompileTarget } : {}),
    ...(order?.length ? { bytecodeOrder: order } : {}),
  },
  splitting: true,
  minify: { whitespace: true, syntax: true, identifiers: true, keepNames: true },
  bytecode: true,
  format: "esm",
  // Embedded in the executable: stack traces name src/ files and lines.
  sourcemap: "linked",
  define: { "process.env.NODE_ENV": '"production"' },
  plugins: [yamlEsm, ...(baked.version || baked.baseUrl ? [versionModule] : [])],
});
if (!result.success) {
  for (const log of result.logs) console.error(String(log));
  process.exit(1);
}
// The source map is embedded in the executable; the .map files written beside it are not needed.
for (const output of result.outputs) if (output.path.endsWith(".map")) rmSync(output.path, { force: true });
