/** Picks the runtime module once; each is imported lazily so the binary never evaluates the others. */
import type { Runtime } from "./types.ts";

let current: Promise<Runtime> | undefined;

export function runtimeName(): Runtime["name"] {
  const g = globalThis as { Bun?: unknown; Deno?: unknown };
  return g.Bun ? "bun" : g.Deno ? "deno" : "node";
}

export function loadRuntime(): Promise<Runtime> {
  current ??= (async () => {
    const name = runtimeName();
    if (name === "bun") return (await import("./bun.ts")).createRuntime();
    if (name === "deno") return (await import("./deno.ts")).runtime;
    return (await import("./node.ts")).runtime;
  })();
  return current;
}

export type { FetchHandler, Runtime, ServerHandle } from "./types.ts";
