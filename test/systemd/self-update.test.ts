/**
 * `hermes self-update` under the real systemd (test/systemd/harness.ts): hermes 0.1.0 (dist/hermes) sits in a
 * writable install directory bound at /opt/hermes-bin, `hermes install-service` installs and starts the system
 * unit for it (ExecStart= that very file), and self-update replaces the file and restarts the unit through
 * systemd, fetching from the loopback release tree of test/helpers/release.ts (the sandbox shares the host's
 * network). 0.2.0 is a real gateway; 0.3.0 is the stand-in that exits 78, and must be rolled back.
 */
import { chmodSync, copyFileSync, existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { controlRequest } from "../../src/gateway/control.ts";
import { BROKEN, NEW, OLD, type ReleaseServer, type ReleaseTree, servedRelease } from "../helpers/release.ts";
import { BINARY, freePort, SECRET, webhookConfig } from "./gateway-unit.ts";
import {
  SANDBOX_HOME,
  Sandbox,
  sandboxUnavailable,
  stopAllSandboxes,
  UNIT_NAME,
  until,
  writeHome,
} from "./harness.ts";

const unavailable = sandboxUnavailable() ?? (existsSync(BINARY) ? undefined : `${BINARY} is not built`);
if (unavailable) console.log(`systemd self-update scenario skipped: ${unavailable}`);

const INSTALLED = "/opt/hermes-bin/hermes";

let tree: ReleaseTree | undefined;
let server: ReleaseServer | undefined;
const cleanup: string[] = [];

beforeAll(async () => {
  if (unavailable) return;
  ({ tree, server } = await servedRelease());
}, 120_000);

afterAll(async () => {
  await server?.close();
  tree?.remove();
});

afterEach(async () => {
  await stopAllSandboxes();
  for (const dir of cleanup.splice(0)) rmSync(dir, { recursive: true, force: true });
});

interface GatewayStatus {
  version: string;
  pid: number;
  state: string;
}

describe.skipIf(unavailable !== undefined)(
  `self-update under systemd${unavailable ? ` (skipped: ${unavailable})` : ""}`,
  () => {
    it("updates the binary the unit runs, restarts the unit onto the new version, and rolls back a version that exits 78", async () => {
      const installDir = mkdtempSync(join(tmpdir(), "hermes-sd-bin-"));
      const home = mkdtempSync(join(tmpdir(), "hermes-sd-home-"));
      cleanup.push(installDir, home);
      chmodSync(installDir, 0o755);
      copyFileSync(BINARY, join(installDir, "hermes"));
      chmodSync(join(installDir, "hermes"), 0o755);
      const port = await freePort();
      writeHome(home, {
        "config.yaml": webhookConfig({ replyUrl: "http://127.0.0.1:9/" })(port),
        ".env": `WEBHOOK_SECRET=${SECRET}\n`,
      });
      const sb = await Sandbox.start({
        name: "self-update",
        maxLifeS: 240,
        shareNet: true,
        tmpfs: ["/opt", "/srv"],
        binds: [
          { source: installDir, target: "/opt/hermes-bin" },
          { source: home, target: SANDBOX_HOME },
        ],
      });
      const status = async (): Promise<GatewayStatus> => {
        const r = await controlRequest(join(home, "run", "gateway.sock"), "GET", "/status", 2000);
        if (r.status !== 200) throw new Error(`GET /status answered ${r.status}`);
        return r.body as GatewayStatus;
      };
      const unit = () => sb.show(UNIT_NAME, ["ActiveState", "SubState", "MainPID", "ExecMainStatus"]);
      /** Active, and the gateway answering as its main process, on `version`. */
      const upOn = (version: string) =>
        until(
          `the gateway on hermes ${version}`,
          async () => {
            const u = await unit();
            if (u.ActiveState !== "active" || u.SubState !== "running") return undefined;
            const s = await status();
            return String(s.pid) === u.MainPID && s.version === version ? { unit: u, gateway: s } : undefined;
          },
          20_000,
        );

      const installed = await sb.exec(
        [INSTALLED, "install-service", "--system", "--run-as-user", "root", "--home", SANDBOX_HOME],
        { timeoutMs: 90_000 },
      );
      expect(installed.code, installed.stderr).toBe(0);
      const unitText = (await sb.exec(["cat", `/etc/systemd/system/${UNIT_NAME}`])).stdout;
      expect(unitText).toMatch(/^ExecStart=\/opt\/hermes-bin\/hermes gateway run$/m);
      const first = await upOn(OLD);

      const update = await sb.exec(
        ["env", `HERMES_INSTALL_BASE_URL=${server!.url}`, INSTALLED, "self-update"],
        {
          timeoutMs: 150_000,
        },
      );
      expect(update.code, update.stderr).toBe(0);
      expect(update.stdout).toContain(
        `${INSTALLED} is now hermes ${NEW} (was ${OLD}, kept as ${INSTALLED}.previous)`,
      );
      expect(update.stdout).toContain(`${UNIT_NAME} restarted: ready on hermes ${NEW}`);
      const second = await upOn(NEW);
      expect(second.unit.MainPID).not.toBe(first.unit.MainPID);

      const broken = await sb.exec(
        // 0.2.0 is a release binary: it knows its site without HERMES_INSTALL_BASE_URL.
        [INSTALLED, "self-update", "--version", BROKEN],
        { timeoutMs: 150_000 },
      );
      expect(broken.code).toBe(1);
      expect(broken.stderr).toContain(`${UNIT_NAME} did not become ready on hermes ${BROKEN}: `);
      expect(broken.stderr).toContain("exit status 78");
      expect(broken.stderr).toContain(`rolled back: ${INSTALLED} is hermes ${NEW} again`);
      expect(broken.stdout).toContain(`${UNIT_NAME} is running hermes ${NEW} again`);
      const third = await upOn(NEW);
      expect(third.unit.MainPID).not.toBe(second.unit.MainPID);
      // The stand-in did run under the unit, and failed as a release whose gateway cannot start does.
      const journal = await sb.journal(UNIT_NAME);
      expect(journal.some((l) => l.includes(`hermes ${BROKEN} stand-in: this release cannot start`))).toBe(
        true,
      );
      expect(journal.some((l) => /status=78/.test(l))).toBe(true);
      expect((await sb.exec([INSTALLED, "--version"])).stdout.trim()).toBe(`hermes ${NEW}`);
    }, 300_000);
  },
);
