/**
 * `fetch` for every outbound request, honouring HTTPS_PROXY, HTTP_PROXY, ALL_PROXY and NO_PROXY the same way on
 * every runtime. The proxy is chosen here (one rule set), then handed to the runtime's own mechanism: Bun's
 * `proxy` fetch option, a Deno HttpClient, undici's ProxyAgent on Node (whose global fetch ignores the variables).
 * Bun and Deno also apply NO_PROXY on their own, with the same meaning, so a bypass stays a bypass there.
 */
import { runtimeName } from "./index.ts";

export type FetchLike = (url: string, init?: RequestInit) => Promise<Response>;

type Env = Record<string, string | undefined>;

function variable(env: Env, name: string): string | undefined {
  const value = env[name] ?? env[name.toLowerCase()];
  return value?.trim() ? value.trim() : undefined;
}

/** Whether NO_PROXY exempts `url`: `*`, exact hosts or IPs, domains (with or without a leading dot), `:port`. */
export function bypassesProxy(url: URL, env: Env): boolean {
  const list = variable(env, "NO_PROXY");
  if (!list) return false;
  const host = url.hostname.replace(/^\[(.*)\]$/, "$1").toLowerCase();
  const port = url.port || (url.protocol === "https:" ? "443" : "80");
  for (const raw of list.split(/[\s,]+/)) {
    const entry = raw.trim().toLowerCase();
    if (!entry) continue;
    if (entry === "*") return true;
    // A bare IPv6 address has colons of its own and no port.
    const match =
      entry.split(":").length > 2 && !entry.startsWith("[")
        ? [entry, entry, undefined]
        : /^(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(entry);
    if (!match) continue;
    const name = (match[1] ?? "").replace(/^\[(.*)\]$/, "$1").replace(/^\*?\./, "");
    if (match[2] && match[2] !== port) continue;
    if (host === name || host.endsWith(`.${name}`)) return true;
  }
  return false;
}

/** The proxy URL for `url`, or undefined: HTTPS_PROXY (HTTP_PROXY for http:), else ALL_PROXY, unless NO_PROXY. */
export function proxyFor(url: URL, env: Env = process.env): string | undefined {
  const specific = variable(env, url.protocol === "https:" ? "HTTPS_PROXY" : "HTTP_PROXY");
  const proxy = specific ?? variable(env, "ALL_PROXY");
  if (!proxy || bypassesProxy(url, env)) return undefined;
  // A bare host:port is what people put in these variables as often as a URL.
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(proxy) ? proxy : `http://${proxy}`;
}

interface UndiciLike {
  ProxyAgent: new (url: string) => unknown;
  fetch(url: string, init: unknown): Promise<unknown>;
}

// A computed specifier: the bundler must not pull undici into the Bun binary, which never needs it.
const UNDICI = ["un", "dici"].join("");
let undici: Promise<UndiciLike> | undefined;
const dispatchers = new Map<string, unknown>();
const denoClients = new Map<string, unknown>();

/** Like fetch, through the proxy the environment names for this URL (read at each call). */
export const outboundFetch: FetchLike = async (url, init = {}) => {
  const proxy = proxyFor(new URL(url));
  const runtime = runtimeName();
  if (!proxy) return fetch(url, init);
  // Bun reads HTTP(S)_PROXY and NO_PROXY itself but not every spelling (ALL_PROXY, bare host:port): explicit.
  if (runtime === "bun") return fetch(url, { ...init, proxy } as RequestInit);
  if (runtime === "deno") {
    const deno = (globalThis as { Deno?: { createHttpClient(o: { proxy: { url: string } }): unknown } }).Deno;
    let client = denoClients.get(proxy);
    if (!client && deno) {
      client = deno.createHttpClient({ proxy: { url: proxy } });
      denoClients.set(proxy, client);
    }
    return fetch(url, { ...init, client } as RequestInit);
  }
  undici ??= import(UNDICI) as Promise<UndiciLike>;
  const { ProxyAgent, fetch: undiciFetch } = await undici;
  let dispatcher = dispatchers.get(proxy);
  if (!dispatcher) {
    dispatcher = new ProxyAgent(proxy);
    dispatchers.set(proxy, dispatcher);
  }
  return (await undiciFetch(url, { ...init, dispatcher })) as Response;
};
