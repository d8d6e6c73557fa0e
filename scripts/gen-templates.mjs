#!/usr/bin/env node
// Embeds the systemd unit templates (systemd-templates/*.service) into src/systemd/templates.gen.ts, so
// install-service renders them from the compiled binary and under Node and Deno alike. `--check` fails when
// the generated file is stale.
import { embed } from "./lib/embed.mjs";

embed({
  from: "systemd-templates",
  ext: ".service",
  to: "src/systemd/templates.gen.ts",
  name: "UNIT_TEMPLATES",
  key: (file) => file,
  script: "scripts/gen-templates.mjs",
});
