/** Checks of what comes from the environment: `${VAR}` references, auto-enabled platforms, literal secrets. */
import { describeEnvOrigin } from "../../config/env.ts";
import { fieldMeta } from "../../config/fields.ts";
import { dotPath, type Path } from "../../config/path.ts";
import { configSchema } from "../../config/schema.ts";
import { schemaAt } from "../../config/schema-walk.ts";
import { forEachLeaf } from "../../config/tree.ts";
import { at, defineRule, type Finding, platformLocation, type RuleContext } from "../rule.ts";

export const envUnset = defineRule({
  id: "env-unset",
  check(ctx) {
    const findings: Finding[] = [];
    const enabled = new Set(ctx.load.platforms.filter((p) => p.enabled).map((p) => p.manifest.name));
    for (const { path, ref } of ctx.load.references) {
      if (ref.set || ref.defaulted) continue;
      const platform = path[0] === "platforms" && typeof path[1] === "string" ? path[1] : undefined;
      const required = ref.operator === ":?" || ref.operator === "?";
      const severity = required || (platform !== undefined && enabled.has(platform)) ? "error" : "warning";
      const said = required && ref.message ? `: ${ref.message}` : "";
      findings.push(
        at(
          ctx.load.locate(path, "value"),
          `environment variable ${ref.name} (used by ${dotPath(path)}) is not set${said}`,
          {
            severity,
            hint: `set ${ref.name} in ${ctx.load.envFile.path}, or give a default: \${${ref.name}:-value}`,
            platform,
          },
        ),
      );
    }
    return findings;
  },
});

export const envAutoEnable = defineRule({
  id: "env-auto-enable",
  check(ctx) {
    const findings: Finding[] = [];
    for (const platform of ctx.load.platforms) {
      const name = platform.manifest.name;
      if (platform.enabledBy === "env") {
        const origins = platform.envSet.map((v) => describeEnvOrigin(v, ctx.load.env.get(v))).join(" and ");
        findings.push(
          at(
            platformLocation(ctx, platform),
            `platform "${name}" is enabled because ${origins} is set (it has no block in the config)`,
            {
              hint: `add platforms.${name} to configure it, or platforms.${name}.enabled: false to keep it off`,
              platform: name,
            },
          ),
        );
      } else if (platform.explicitlyDisabled && platform.envSet.length > 0) {
        findings.push(
          at(
            ctx.load.locate(["platforms", name, "enabled"], "value"),
            `${platform.envSet.join(" and ")} ${platform.envSet.length > 1 ? "are" : "is"} set but platforms.${name}.enabled is false: ${name} stays off`,
            { platform: name },
          ),
        );
      }
    }
    return findings;
  },
});

/** Paths of secret fields whose value is written literally in the config file. */
export function literalSecretPaths(ctx: RuleContext): Path[] {
  const found: Path[] = [];
  forEachLeaf(ctx.load.config, (node, path) => {
    if (typeof node !== "string" || node === "" || !ctx.load.isLiteral(path)) return;
    if (fieldMeta(schemaAt(configSchema, path)).secret) found.push(path);
  });
  return found;
}

export const plaintextSecret = defineRule({
  id: "plaintext-secret",
  check(ctx) {
    return literalSecretPaths(ctx).map((path) => {
      const meta = fieldMeta(schemaAt(configSchema, path));
      const key = String(path[path.length - 1]);
      const variable = meta.env ?? meta.variable ?? variableNameFor(path);
      return at(
        ctx.load.locate(path, "value"),
        `${dotPath(path)} is a secret written literally in config.yaml`,
        {
          hint: meta.env
            ? `move it to ${ctx.load.envFile.path} as ${variable}=… and remove ${key} from the config (${variable} is read by default)`
            : `move it to ${ctx.load.envFile.path} as ${variable}=… and write ${key}: \${${variable}}`,
          platform: path[0] === "platforms" && typeof path[1] === "string" ? path[1] : undefined,
        },
      );
    });
  },
});

function variableNameFor(path: Path): string {
  return ["HERMES", ...path.filter((p): p is string => typeof p === "string" && p !== "platforms")]
    .join("_")
    .toUpperCase()
    .replace(/[^A-Z0-9_]/g, "_");
}
