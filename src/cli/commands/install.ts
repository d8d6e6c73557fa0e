import { notBuilt } from "../define.ts";

export const selfUpdate = notBuilt(
  "self-update",
  "Install a newer binary from the release site, verified, and restart the service",
  {
    version: { type: "string", description: "install this version instead of the latest", valueHint: "v" },
    check: { type: "boolean", description: "only say whether a newer version exists" },
  },
);

export const uninstall = notBuilt(
  "uninstall",
  "Remove the binary, the PATH lines the installer added and the service",
);
