/** Checks of the HTTP listeners. */
import { isLoopbackHost, parseListen } from "../../config/fields.ts";
import type { Path } from "../../config/path.ts";
import { at, defineRule, type Finding } from "../rule.ts";

const ANY = new Set(["0.0.0.0", "::", "[::]", "*", ""]);

function overlaps(a: string, b: string): boolean {
  return a === b || ANY.has(a) || ANY.has(b);
}

export const portConflict = defineRule({
  id: "port-conflict",
  check(ctx) {
    const findings: Finding[] = [];
    const listeners: { path: Path; host: string; port: number }[] = [];
    const main = parseListen(ctx.load.config.gateway.http.listen);
    if (main) listeners.push({ path: ["gateway", "http", "listen"], ...main });
    for (const platform of ctx.load.platforms) {
      const own = platform.enabled ? platform.block?.listen : undefined;
      const parsed = own === undefined ? undefined : parseListen(own);
      if (parsed) listeners.push({ path: ["platforms", platform.manifest.name, "listen"], ...parsed });
    }
    listeners.forEach((l, i) => {
      const earlier = listeners.slice(0, i).find((o) => o.port === l.port && overlaps(o.host, l.host));
      if (!earlier) return;
      findings.push(
        at(
          ctx.load.locate(l.path, "value"),
          `${l.path.join(".")} uses port ${l.port}, which ${earlier.path.join(".")} already uses`,
          {
            hint: "give each listener its own port, or leave a platform's listen out to serve it on gateway.http",
            platform: l.path[0] === "platforms" ? String(l.path[1]) : undefined,
          },
        ),
      );
    });
    return findings;
  },
});

export const bindPublic = defineRule({
  id: "bind-public",
  check(ctx) {
    const { listen, auth_token } = ctx.load.config.gateway.http;
    const parsed = parseListen(listen);
    if (!parsed || isLoopbackHost(parsed.host) || (auth_token !== undefined && auth_token !== "")) return [];
    return [
      at(
        ctx.load.locate(["gateway", "http", "listen"], "value"),
        `gateway.http.listen is ${listen}, reachable from other machines, but gateway.http.auth_token is not set`,
        {
          hint: "set gateway.http.auth_token: ${HERMES_HTTP_TOKEN} (and the variable in .env), or listen on 127.0.0.1",
        },
      ),
    ];
  },
});
