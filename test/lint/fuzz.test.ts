/**
 * Fuzzing the loaders and the linter with fast-check: whatever the bytes, lint returns diagnostics (it never
 * throws past InputError, never hangs), and the .env parser and interpolation never throw.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Environment } from "../../src/config/env.ts";
import { parseEnvFile } from "../../src/config/env-file.ts";
import { interpolate } from "../../src/config/interpolate.ts";
import { InputError } from "../../src/config/load.ts";
import { parseYaml } from "../../src/config/yaml-source.ts";
import { lintText } from "../helpers/lint.ts";

const yamlish = fc.oneof(
  fc.string({ unit: "binary", maxLength: 400 }),
  fc
    .array(
      fc.constantFrom(
        "gateway:",
        "platforms:",
        "  discord:",
        "  telegram: {}",
        "    token: ${X}",
        "cron:",
        "  jobs:",
        "    - id: a",
        "      schedule: '0 3 * * *'",
        "- ",
        "[",
        "]",
        "{",
        "}",
        ": ",
        "&a ",
        "*a",
        "!!str ",
        "\t",
        "  ",
        "yes",
        "${",
        "'",
        '"',
        "#",
        "\n",
        "---\n",
        "<<: *a",
      ),
      { maxLength: 60 },
    )
    .map((parts) => parts.join("")),
);

const envish = fc.oneof(
  fc.string({ unit: "binary", maxLength: 300 }),
  fc
    .array(
      fc.constantFrom(
        "A=1",
        "export B='x",
        '"',
        'C="a\\n',
        "D=${A}",
        "#",
        "\n",
        "\r\n",
        " = ",
        "TELEGRAM_BOT_TOKEN=",
        "x",
      ),
      { maxLength: 40 },
    )
    .map((p) => p.join("")),
);

describe("fuzz", () => {
  it("lint never throws on any config and .env text", () => {
    fc.assert(
      fc.property(yamlish, envish, (config, env) => {
        try {
          const diagnostics = lintText(config, env);
          for (const d of diagnostics) {
            expect(typeof d.message).toBe("string");
            expect(["error", "warning", "info"]).toContain(d.severity);
          }
        } catch (error) {
          // A binary or non-UTF-8 file is refused as input; anything else is a bug.
          expect(error).toBeInstanceOf(InputError);
        }
      }),
      { numRuns: 400 },
    );
  }, 60_000);

  it("the YAML pre-scan keeps any nesting from reaching the parser's recursion limit", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 20_000 }),
        fc.constantFrom("[", "{", "- ", "a:\n "),
        (depth, open) => {
          const text =
            open === "a:\n "
              ? Array.from({ length: depth }, (_, i) => `${" ".repeat(i)}k:`).join("\n")
              : open.repeat(depth);
          const source = parseYaml(text);
          expect(Array.isArray(source.problems)).toBe(true);
        },
      ),
      { numRuns: 60 },
    );
  }, 60_000);

  it(".env parsing and interpolation never throw", () => {
    const env = new Environment({ A: "1" });
    fc.assert(
      fc.property(fc.string({ unit: "binary", maxLength: 500 }), (text) => {
        const file = parseEnvFile(text);
        for (const e of file.entries) expect(typeof e.value).toBe("string");
        expect(typeof interpolate(text, env).value).toBe("string");
      }),
      { numRuns: 2000 },
    );
  });
});
