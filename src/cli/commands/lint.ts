import type { CommandDef } from "citty";
import { group } from "../define.ts";

// Each loads on demand: `lint config` must not pay for the systemd rules, nor `lint service` for the config ones.
const lazy = <T>(load: () => Promise<T>) => load as unknown as CommandDef;

export default group("lint", "Check a configuration or systemd units before they are used", {
  config: lazy(() => import("./lint-config.ts").then((m) => m.default)),
  service: lazy(() => import("./lint-service.ts").then((m) => m.default)),
});
