/**
 * kill -9 of the gateway while a command job runs, then a restart ~3 s later: the interrupted slot is recorded as
 * an error and never run again; the slots missed while no scheduler ran are handled per `catchup` (skip, once,
 * all: one job each) and counted in missed_runs; no slot of any job starts twice.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { CronStateFile } from "../../src/cron/types.ts";
import { freePort, startGateway, waitFor, waitReady } from "../helpers/gateway.ts";
import { makeHome } from "../helpers/home.ts";

/** Every job appends "<job> <slot>" to starts.log when it starts: the record of what ran. */
const RECORD = 'echo "$HERMES_JOB_ID $HERMES_JOB_SLOT" >> starts.log';

function starts(home: string): [string, string][] {
  let text = "";
  try {
    text = readFileSync(join(home, "starts.log"), "utf8");
  } catch {
    return [];
  }
  return text
    .trim()
    .split("\n")
    .filter(Boolean)
    .map((line) => line.split(" ") as [string, string]);
}

const state = (home: string) =>
  JSON.parse(readFileSync(join(home, "cron", "state.json"), "utf8")) as CronStateFile;

describe("kill -9 during a job, restart", () => {
  it("the interrupted slot is not run again; catchup skip, once and all behave as configured", async () => {
    const port = await freePort();
    const job = (id: string, catchup: string, command: string, schedule = "every 1s") =>
      `    - { id: ${id}, schedule: "${schedule}", catchup: ${catchup}, command: '${command}', timeout: 60s }\n`;
    const home = makeHome({
      config: `gateway:\n  http: { listen: "127.0.0.1:${port}" }\n  drain_timeout: 1s\ncron:\n  jobs:\n${job("slow", "skip", `${RECORD}; sleep 30`, "every 2s")}${job("c-skip", "skip", RECORD)}${job("c-once", "once", RECORD)}${job("c-all", "all", RECORD)}`,
    });
    const first = startGateway({ home });
    await waitReady(first);
    // The slow job is running (its slot written as running), and the others have run a few times.
    await waitFor(
      "the slow job running",
      () => !!state(home).jobs.slow?.running && starts(home).length >= 6,
      10_000,
    );
    first.child.kill("SIGKILL");
    await first.exited;
    const before = state(home);
    const interrupted = before.jobs.slow!.running!.slot;
    await new Promise((resolve) => setTimeout(resolve, 3000));

    const second = startGateway({ home });
    await waitReady(second);
    const restartedAt = Date.now();
    await waitFor("a new slot of every job after the restart", () =>
      ["c-skip", "c-once", "c-all"].every((id) =>
        starts(home).some(([j, slot]) => j === id && Date.parse(slot) > restartedAt),
      ),
    );
    await second.control("POST", "/admin/stop");
    await second.exited;
    const after = state(home);
    const log = second.logs as { event?: string; job?: string; msg?: string; slot?: string }[];

    // No slot of any job started twice.
    const all = starts(home).map(([j, s]) => `${j} ${s}`);
    expect(new Set(all).size).toBe(all.length);

    // The interrupted run: an error, its processes ended, never started again.
    expect(starts(home).filter(([j, s]) => j === "slow" && s === interrupted)).toHaveLength(1);
    const record = log.find((r) => r.event === "cron.interrupted" && r.job === "slow");
    expect(record?.slot).toBe(interrupted);
    expect(record?.msg).toMatch(
      /interrupted: the scheduler \(pid \d+\) stopped while this run was in progress/,
    );
    expect(record?.msg).toMatch(/process\(es\) it left were ended/);

    // The slots each job missed while no scheduler ran: (last_slot before, the restart].
    for (const id of ["c-skip", "c-once", "c-all"]) {
      const line = log.find((r) => r.event === "cron.missed" && r.job === id)?.msg ?? "";
      const m = /(\d+) slots came due while no scheduler was running \((\S+) … (\S+)\)/.exec(line);
      expect(m, `${id}: ${line}`).not.toBeNull();
      const [count, from, to] = [Number(m![1]), Date.parse(m![2]!), Date.parse(m![3]!)];
      expect(count).toBeGreaterThanOrEqual(3);
      expect(from).toBe(Date.parse(before.jobs[id]!.last_slot!) + 1000);
      expect(to - from).toBe((count - 1) * 1000);
      const ran = starts(home)
        .filter(([j, s]) => j === id && Date.parse(s) >= from && Date.parse(s) <= to)
        .map(([, s]) => Date.parse(s));
      const missed = after.jobs[id]!.missed_runs - before.jobs[id]!.missed_runs;
      if (id === "c-skip") {
        expect(ran).toEqual([]);
        expect(missed).toBe(count);
      } else if (id === "c-once") {
        expect(ran).toEqual([to]);
        expect(missed).toBe(count - 1);
      } else {
        expect(ran).toEqual(Array.from({ length: count }, (_, i) => from + i * 1000));
        expect(missed).toBe(0);
      }
    }
  }, 60_000);
});
