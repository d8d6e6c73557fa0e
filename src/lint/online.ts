/**
 * `hermes lint config --online`: asks each enabled platform whether its credentials are valid, through the
 * check its manifest declares (Telegram getMe, …), all at once, each within a timeout. Only asked for: it
 * talks to the network. Platforms whose credentials already have lint errors are not asked.
 */
import type { LoadResult } from "../config/load.ts";
import { ruleInfo } from "./catalog.ts";
import type { Diagnostic } from "./diagnostic.ts";
import { at, credentialLocation, platformLocation } from "./rule.ts";

export const ONLINE_TIMEOUT_MS = 10_000;

export interface OnlineResult {
  diagnostics: Diagnostic[];
  /** Platforms whose credentials the platform accepted, with the identity it gave (`@my_bot`). */
  valid: { platform: string; identity: string }[];
}

export async function lintOnline(
  load: LoadResult,
  offline: readonly Diagnostic[],
  options: { timeoutMs?: number } = {},
): Promise<OnlineResult> {
  const timeoutMs = options.timeoutMs ?? ONLINE_TIMEOUT_MS;
  const ctx = { load, strict: false };
  const result: OnlineResult = { diagnostics: [], valid: [] };
  const asked = load.platforms
    .filter((p) => p.enabled && p.manifest.online)
    .filter((p) => p.credentials.every((c) => c.value !== undefined))
    .filter((p) => !offline.some((d) => d.platform === p.manifest.name && d.severity === "error"))
    .map(async (p) => {
      const name = p.manifest.name;
      const credentials: Record<string, string> = {};
      for (const c of p.credentials) if (c.value !== undefined) credentials[c.spec.key] = c.value;
      const check = await p.manifest.online!();
      // A check must not throw, but one that does is reported as unreachable rather than ending the lint.
      const verdict = await check({ credentials, block: p.block ?? {}, timeoutMs }).catch(
        (error: unknown) => ({
          status: "unreachable" as const,
          message: error instanceof Error ? error.message : String(error),
        }),
      );
      if (verdict.status === "valid") {
        result.valid.push({ platform: name, identity: verdict.identity });
        return;
      }
      const rule = verdict.status === "rejected" ? "token-rejected" : "online-unreachable";
      const first = p.credentials[0];
      const where = first ? credentialLocation(ctx, p, first) : platformLocation(ctx, p);
      result.diagnostics.push({
        rule,
        severity: ruleInfo(rule).severity,
        ...at(
          where,
          verdict.status === "rejected"
            ? `${p.manifest.title} refused the credentials of platform "${name}": ${verdict.message}`
            : `could not ask ${p.manifest.title} whether the credentials of platform "${name}" are valid: ${verdict.message}`,
          {
            hint:
              verdict.status === "rejected"
                ? `issue a new ${p.manifest.credentials[0]?.label ?? "credential"} and put it in ${p.manifest.credentials[0]?.env ?? "the block"}`
                : `check the network, api_base and HTTPS_PROXY/ALL_PROXY; the check waited ${timeoutMs / 1000} s`,
            platform: name,
          },
        ),
      });
    });
  await Promise.all(asked);
  return result;
}
