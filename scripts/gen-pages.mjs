#!/usr/bin/env node
// Embeds the rule pages (lint/rules/*.md) into src/lint/pages.gen.ts, so `--explain` works from the
// compiled binary and under Node and Deno alike. `--check` fails when the generated file is stale.
import { embed } from "./lib/embed.mjs";

embed({
  from: "lint/rules",
  ext: ".md",
  to: "src/lint/pages.gen.ts",
  name: "RULE_PAGES",
  key: (file) => file.slice(0, -3),
  script: "scripts/gen-pages.mjs",
});
