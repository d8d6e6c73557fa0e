/** The `/cron` admin chat command: who fires jobs, and each job's next run (in its zone), last status, missed runs. */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { freePort, startGateway, waitFor, waitReady } from "../helpers/gateway.ts";
import { makeHome } from "../helpers/home.ts";
import { postMessage, receiver, SECRET } from "../helpers/receiver.ts";

describe("/cron", () => {
  it("lists the jobs with their next run, last status and missed runs, for admins only", async () => {
    const r = await receiver();
    const port = await freePort();
    const home = makeHome({
      config: `gateway:
  http: { listen: "127.0.0.1:${port}" }
platforms:
  webhook: { allowed_users: [admin1, user1], admins: [admin1], reply_url: "${r.url}" }
cron:
  jobs:
    - { id: nightly, schedule: "0 3 * * *", timezone: Asia/Shanghai, message: hi }
    - { id: broken, schedule: "0 4 * * *", timezone: UTC, command: "exit 2" }
    - { id: paused, schedule: "every 1h", message: x, enabled: false }
`,
      env: `WEBHOOK_SECRET=${SECRET}\n`,
    });
    const gw = startGateway({ home });
    await waitReady(gw);
    // state/gateway.json carries the cron block too.
    const saved = await waitFor("the state file's cron block", () => {
      try {
        return JSON.parse(readFileSync(join(home, "state", "gateway.json"), "utf8")).cron;
      } catch {
        return undefined;
      }
    });
    expect(saved).toMatchObject({ jobs: 3, holder: { pid: gw.pid, kind: "gateway" } });
    expect(Object.keys(saved).sort()).toEqual(["alive", "holder", "jobs", "last_tick_at", "next_run_at"]);
    expect((await gw.control("POST", "/admin/cron/run", { id: "broken" })).body).toMatchObject({
      status: "error",
      error: "exit code 2",
    });
    await postMessage(port, { chat_id: "c", user_id: "user1", text: "/cron", message_id: "u1" });
    await postMessage(port, { chat_id: "c", user_id: "admin1", text: "/cron", message_id: "a1" });
    await waitFor("two answers", () => r.delivered().length === 2);
    const [refusal, list] = r.delivered().map((d) => d.body.text);
    expect(refusal).toBe("Sorry, /cron is for admins only.");
    expect(list).toMatch(
      new RegExp(
        [
          `^scheduler: gateway pid ${gw.pid}`,
          "nightly: next \\d{4}-\\d\\d-\\d\\d 03:00 Asia/Shanghai; last never run",
          "broken: next \\d{4}-\\d\\d-\\d\\d 04:00 UTC; last error \\(exit code 2\\)",
          "paused: paused; last never run$",
        ].join("\\n"),
      ),
    );
  });
});
