/**
 * The floor of the systemd benchmark: the least a compiled Bun program must do to be a Type=notify service with a
 * watchdog, through hermes's own code (src/runtime/bun.ts's notify socket, src/systemd/notify.ts's hooks):
 * READY=1 at once, WATCHDOG=1 from the main loop, STOPPING=1 and exit 75 on SIGUSR1 (a restart, as the gateway
 * does), exit 0 on SIGTERM. It runs under the unit install-service generates, so the two differ only in what
 * hermes does between exec and READY=1.
 */
import type { Logger } from "../src/log/logger.ts";
import { createRuntime } from "../src/runtime/bun.ts";
import { createNotifier, systemdHooks } from "../src/systemd/notify.ts";

// Not logger.ts's silentLogger: importing that module would bundle consola, which the floor does not need.
const silentLogger: Logger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
  child: () => silentLogger,
};
const notifier = createNotifier(process.env, { runtime: await createRuntime(), log: silentLogger });
const hooks = systemdHooks(notifier, { env: process.env, pid: process.pid, log: silentLogger });
hooks.status("floor: ready");
hooks.ready();
// The gateway's liveness tick, which the watchdog pings depend on; it also keeps the process alive.
const tick = setInterval(() => hooks.alive(), 500);
const exit = (code: number) => () => {
  clearInterval(tick);
  hooks.stopping();
  process.exitCode = code;
};
process.on("SIGUSR1", exit(75));
process.on("SIGTERM", exit(0));
