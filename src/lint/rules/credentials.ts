/** Checks of platform credentials: present, real, well-formed, on the right platform, used once. */
import type { ResolvedCredential, ResolvedPlatform } from "../../config/platforms.ts";
import { PLATFORMS } from "../../platforms/registry.ts";
import {
  at,
  credentialLocation,
  credentialName,
  defineRule,
  type Finding,
  hasUnsetReference,
  platformLocation,
  type RuleContext,
} from "../rule.ts";

function enabledPlatforms(ctx: RuleContext): ResolvedPlatform[] {
  return ctx.load.platforms.filter((p) => p.enabled);
}

export const missingToken = defineRule({
  id: "missing-token",
  check(ctx) {
    const findings = [];
    for (const platform of enabledPlatforms(ctx)) {
      const name = platform.manifest.name;
      for (const c of platform.credentials) {
        if (c.value !== undefined || hasUnsetReference(ctx, ["platforms", name, c.spec.key])) continue;
        const envFile = ctx.load.envFile.path;
        const why = platform.enabledBy === "env" ? `enabled by ${platform.envSet.join(" and ")}` : "enabled";
        findings.push(
          at(
            platformLocation(ctx, platform),
            `platform "${name}" is ${why} but its ${c.spec.label} is missing: ${c.spec.env} is not set and platforms.${name}.${c.spec.key} is not given`,
            {
              hint: `set ${c.spec.env} in ${envFile}${platform.declared ? `, or add enabled: false to platforms.${name}` : ""}`,
              platform: name,
            },
          ),
        );
      }
    }
    return findings;
  },
});

const PLACEHOLDER_WORDS =
  /^(change[-_ ]?me|replace[-_ ]?me|todo|tbd|fixme|example|dummy|test|testing|placeholder|null|none|nil|undefined|secret|token|password|bot[-_ ]?token|api[-_ ]?key|your[-_ ].*|.*[-_ ]here|x+|\*+|\.+|…|-+)$/i;

/** Why a value is a placeholder, or undefined when it looks real. */
export function placeholderReason(value: string, secret: boolean): string | undefined {
  const v = value.trim();
  if (PLACEHOLDER_WORDS.test(v)) return "it is a placeholder word";
  if (/^<[^>]*>$/.test(v) || /^\[[^\]]*\]$/.test(v)) return "it is a <placeholder> in brackets";
  if (/(\.\.\.|…)$/.test(v)) return 'it ends in "..." like an example';
  if (/^(.)\1{5,}$/.test(v)) return "it is one character repeated";
  if (secret && v.length < 8) return `it is only ${v.length} characters long`;
  return undefined;
}

/** A credential in use: on an enabled platform, with a value. */
interface InUse {
  platform: ResolvedPlatform;
  c: ResolvedCredential;
  value: string;
  /** `platforms.telegram.token` or `TELEGRAM_BOT_TOKEN`, whichever supplied the value. */
  name: string;
}

/** Runs `judge` on every credential in use; each verdict becomes a finding at the value's source. */
function judgeCredentials(
  ctx: RuleContext,
  judge: (u: InUse) => { message: string; hint: string } | undefined,
): Finding[] {
  const findings: Finding[] = [];
  for (const platform of enabledPlatforms(ctx)) {
    for (const c of platform.credentials) {
      if (c.value === undefined) continue;
      const verdict = judge({ platform, c, value: c.value, name: credentialName(platform, c) });
      if (verdict)
        findings.push(
          at(credentialLocation(ctx, platform, c), verdict.message, {
            hint: verdict.hint,
            platform: platform.manifest.name,
          }),
        );
    }
  }
  return findings;
}

export const tokenPlaceholder = defineRule({
  id: "token-placeholder",
  check: (ctx) =>
    judgeCredentials(ctx, ({ platform, c, value, name }) => {
      const reason = placeholderReason(value, c.spec.secret);
      if (!reason) return undefined;
      return {
        message: `${name} is not a real ${platform.manifest.title} ${c.spec.label}: ${reason}`,
        hint: `put the real value in ${c.spec.env}`,
      };
    }),
});

/** Why a value has stray whitespace or quotes in it, or undefined. */
export function whitespaceReason(value: string): string | undefined {
  if (/\n|\r/.test(value))
    return /[\r\n]$/.test(value) ? "it ends with a line break" : "it contains a line break";
  if (/^\s/.test(value)) return "it starts with a space";
  if (/\s$/.test(value)) return "it ends with a space";
  if (/\s/.test(value)) return "it contains a space";
  if (/["'`]/.test(value)) return "it contains a quote character";
  return undefined;
}

export const tokenWhitespace = defineRule({
  id: "token-whitespace",
  check: (ctx) =>
    judgeCredentials(ctx, ({ c, value, name }) => {
      const reason = c.spec.isUrl ? undefined : whitespaceReason(value);
      if (!reason) return undefined;
      return {
        message: `${name} cannot be a valid ${c.spec.label}: ${reason}`,
        hint: "copy the value again without surrounding spaces, quotes or line breaks (a YAML | block adds a line break)",
      };
    }),
});

/** The platform and credential whose distinctive shape this value has, other than `self`. */
function lookalike(value: string, self: { platform: string; key: string }) {
  for (const manifest of PLATFORMS) {
    for (const spec of manifest.credentials) {
      if (manifest.name === self.platform && spec.key === self.key) continue;
      if (spec.distinctive?.(value)) return { manifest, spec };
    }
  }
  return undefined;
}

export const tokenWrongPlatform = defineRule({
  id: "token-wrong-platform",
  check: (ctx) =>
    judgeCredentials(ctx, ({ platform, c, value, name }) => {
      if (c.spec.shape?.test(value)) return undefined;
      const other = lookalike(value, { platform: platform.manifest.name, key: c.spec.key });
      if (!other || other.manifest.name === platform.manifest.name) return undefined;
      return {
        message: `${name} looks like a ${other.manifest.title} ${other.spec.label}, not a ${platform.manifest.title} ${c.spec.label}`,
        hint: `did you mean to set ${other.spec.env}?`,
      };
    }),
});

export const tokenFormat = defineRule({
  id: "token-format",
  check: (ctx) =>
    judgeCredentials(ctx, ({ platform, c, value, name }) => {
      const shape = c.spec.shape;
      if (!shape || shape.test(value)) return undefined;
      // Values that other rules already explain are not reported twice.
      if (placeholderReason(value, c.spec.secret) || whitespaceReason(value)) return undefined;
      const other = lookalike(value, { platform: platform.manifest.name, key: c.spec.key });
      if (other && other.manifest.name !== platform.manifest.name) return undefined;
      const swapped = other ? ` (it looks like the ${other.spec.label}: are the two swapped?)` : "";
      return {
        message: `${name} does not look like a ${platform.manifest.title} ${c.spec.label}: expected ${shape.describe}${swapped}`,
        hint: "check that the whole value was copied",
      };
    }),
});

export const duplicateToken = defineRule({
  id: "duplicate-token",
  check(ctx) {
    const seen = new Map<string, string>();
    return judgeCredentials(ctx, ({ c, value, name }) => {
      if (!c.spec.secret || placeholderReason(value, true)) return undefined;
      const first = seen.get(value);
      if (first === undefined) {
        seen.set(value, name);
        return undefined;
      }
      return {
        message: `${name} holds the same value as ${first}`,
        hint: "each credential is issued for one platform and one purpose; copy the right one",
      };
    });
  },
});
