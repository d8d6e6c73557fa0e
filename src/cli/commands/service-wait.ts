/** Waiting, with progress and a bound, until systemd reports a just-started unit running or failed. */
import { showUnit } from "../../systemd/host.ts";
import type { Target } from "./service.ts";

const PROPERTIES = ["ActiveState", "SubState", "Result", "ExecMainCode", "ExecMainStatus", "InvocationID"];
const POLL_MS = 250;

/** What an exit status of the service, or of systemd's own preparation of it, means here. */
const MEANING: Record<string, string> = {
  "78": "the configuration cannot be used (exit 78), so systemd does not retry it; run hermes lint config",
  "69": "another process holds the lock of this home (exit 69); stop it, and systemd tries again every RestartSec",
  "200": "systemd could not enter the working directory (200/CHDIR): does HERMES_HOME exist?",
  "203": "systemd could not execute the binary (203/EXEC)",
  "217": "systemd could not switch to the service's user (217/USER)",
  "226": "systemd could not set up the unit's file system sandbox (226/NAMESPACE): does HERMES_HOME exist?",
};

export type Outcome = { ok: true } | { ok: false; reason: string };

/**
 * Polls `systemctl show` until a new invocation (InvocationID differs from `previous`) is active/running, which
 * for Type=notify means READY=1 arrived; or failed, or exited and waits to be restarted; or `boundS` passes.
 */
export async function waitForStart(target: Target, previous: string, boundS: number): Promise<Outcome> {
  const started = Date.now();
  const tty = process.stderr.isTTY === true;
  const progress = (text: string) => process.stderr.write(tty ? `\r\u001b[2K${text}` : `${text}\n`);
  if (!tty) progress(`waiting for ${target.unit} to report READY (up to ${boundS} s)`);
  try {
    for (;;) {
      const p = showUnit(target.kind, target.unit, PROPERTIES);
      const fresh = (p.InvocationID ?? "") !== "" && p.InvocationID !== previous;
      const elapsed = (Date.now() - started) / 1000;
      const state = `${p.ActiveState ?? "?"} (${p.SubState ?? "?"})`;
      if (fresh && p.ActiveState === "active" && p.SubState === "running") return { ok: true };
      if (fresh && (p.ActiveState === "failed" || p.SubState === "auto-restart")) {
        const status = p.ExecMainStatus ?? "";
        const explained = MEANING[status];
        const how = status && status !== "0" ? `exit status ${status}` : `result ${p.Result ?? "unknown"}`;
        return {
          ok: false,
          reason: `it is ${state} after ${how}${explained ? `: ${explained}` : ""}`,
        };
      }
      if (elapsed >= boundS)
        return {
          ok: false,
          reason: `it is still ${state} after ${boundS} s without reporting READY`,
        };
      if (tty) progress(`waiting for ${target.unit} to report READY: ${state}, ${elapsed.toFixed(0)} s`);
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
  } finally {
    if (tty) process.stderr.write("\r\u001b[2K");
  }
}
