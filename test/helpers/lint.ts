/** In-process lint of a home, for the many tests that do not need a process per case. */
import { loadConfig } from "../../src/config/load.ts";
import type { Diagnostic } from "../../src/lint/diagnostic.ts";
import { Redactor } from "../../src/lint/redact.ts";
import { lintLoaded } from "../../src/lint/run.ts";
import { makeHome } from "./home.ts";

export function lintHome(
  home: string,
  options: { strict?: boolean; env?: Record<string, string> } = {},
): Diagnostic[] {
  const load = loadConfig({ home, env: options.env ?? {} });
  const redactor = new Redactor(load.secrets);
  return lintLoaded(load, { strict: options.strict }).map((d) => redactor.diagnostic(d));
}

export function lintText(
  config: string | undefined,
  env?: string,
  options: { strict?: boolean; processEnv?: Record<string, string> } = {},
) {
  const home = makeHome({ config, env });
  return lintHome(home, { strict: options.strict, env: options.processEnv });
}

export function rules(diagnostics: readonly Diagnostic[], severity?: string): string[] {
  return diagnostics.filter((d) => !severity || d.severity === severity).map((d) => d.rule);
}
