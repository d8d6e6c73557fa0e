import { group, notBuilt } from "../define.ts";
import config from "./lint-config.ts";

export default group("lint", "Check a configuration or systemd units before they are used", {
  config,
  service: notBuilt("lint service", "Audit systemd unit files for what breaks restarts", {
    unit: {
      type: "positional",
      description: "unit files (default: the installed hermes units)",
      required: false,
    },
    format: { type: "enum", options: ["human", "json", "sarif", "github"], description: "output format" },
  }),
});
