import { group, notBuilt } from "../define.ts";

export default group(
  "gateway",
  "Run the gateway, and ask the running one for its status, a restart or a stop",
  {
    run: notBuilt("gateway run", "Run the gateway in the foreground (what the systemd unit starts)", {
      config: {
        type: "string",
        description: "config file to use instead of $HERMES_HOME/config.yaml",
        valueHint: "file",
      },
      strict: { type: "boolean", description: "any lint error stops startup (exit 78)" },
      supervised: { type: "boolean", description: "run as if under a supervisor: exit 75 to restart" },
    }),
    status: notBuilt(
      "gateway status",
      "Ask the running gateway for its state (exit 0 running, 1 degraded, 3 not running)",
      {
        json: { type: "boolean", description: "print JSON" },
      },
    ),
    restart: notBuilt(
      "gateway restart",
      "Lint the config, then ask for a drained restart and wait for the new process",
      {
        force: { type: "boolean", description: "restart even when the config has lint errors" },
        timeout: { type: "string", description: "seconds to wait for the new process", valueHint: "s" },
      },
    ),
    stop: notBuilt("gateway stop", "Drained stop (through systemctl when running under a unit)"),
  },
);
