/** The published JSON Schema (`hermes lint config --print-schema`), generated from the one valibot schema. */
import { type JsonSchema, toJsonSchema } from "@valibot/to-json-schema";
import * as v from "valibot";
import { blockSchema } from "../platforms/manifest.ts";
import { PLATFORMS } from "../platforms/registry.ts";
import { VERSION } from "../version.ts";
import { fieldMeta } from "./fields.ts";
import { configSchema } from "./schema.ts";

const DURATION: JsonSchema = {
  anyOf: [
    { type: "number", minimum: 0, description: "seconds" },
    { type: "string", pattern: "^(\\d+(\\.\\d+)?(ms|s|m|h|d))+$|^\\d+(\\.\\d+)?$" },
  ],
  description: "a duration: seconds, or a string such as 500ms, 30s, 5m, 2h",
};

export function configJsonSchema(): JsonSchema {
  // Upstream style puts platform blocks at the top level; editors should accept those too.
  const topLevelBlocks: v.ObjectEntries = {};
  for (const manifest of PLATFORMS) topLevelBlocks[manifest.name] = v.optional(blockSchema(manifest));
  const root = v.strictObject({ ...configSchema.entries, ...topLevelBlocks });
  const schema = toJsonSchema(root, {
    errorMode: "ignore",
    overrideSchema({ valibotSchema }) {
      const meta = fieldMeta(valibotSchema);
      if (meta.kind === "bool") return { type: "boolean" };
      if (meta.kind === "duration") return DURATION;
      if (meta.kind === "id") return { type: ["string", "integer"] };
      return undefined;
    },
    overrideAction({ valibotAction, jsonSchema }) {
      if (valibotAction.type !== "metadata") return undefined;
      // Our metadata is for hermes itself; editors get a description instead.
      const { kind: _kind, secret, env, ...rest } = jsonSchema as Record<string, unknown>;
      const notes = [secret ? "secret" : "", env ? `defaults to $${env}` : ""].filter(Boolean).join("; ");
      return { ...rest, ...(notes ? { description: notes } : {}) } as JsonSchema;
    },
  });
  return {
    $schema: "http://json-schema.org/draft-07/schema#",
    $id: `hermes-config-${VERSION}`,
    title: "hermes config.yaml",
    ...schema,
  } as JsonSchema;
}
