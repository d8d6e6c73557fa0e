import { notBuilt } from "../define.ts";

const scope = {
  user: { type: "boolean", description: "a user unit in ~/.config/systemd/user (default for non-root)" },
  system: { type: "boolean", description: "a system unit in /etc/systemd/system" },
  name: { type: "string", description: "instance name: hermes-gateway-<name>.service", valueHint: "name" },
} as const;

export const installService = notBuilt(
  "install-service",
  "Write a safe systemd unit, enable and start it, wait for READY",
  {
    ...scope,
    "run-as-user": {
      type: "string",
      description: "system units: the user the gateway runs as",
      valueHint: "user",
    },
    "dry-run": { type: "boolean", description: "print the unit on stdout and change nothing" },
    start: { type: "boolean", default: true, negativeDescription: "enable but do not start it" },
    force: {
      type: "boolean",
      description: "replace a unit hermes did not write, or install over lint errors",
    },
    component: {
      type: "enum",
      options: ["gateway", "cron"],
      description: "which unit to install (default gateway)",
    },
  },
);

export const uninstallService = notBuilt(
  "uninstall-service",
  "Stop, disable and remove the systemd unit",
  scope,
);
