/**
 * Talking to the scheduler of a home from the CLI: `GET /admin/cron` and `POST /admin/cron/run` on the control
 * socket of the gateway (`run/gateway.sock`) or of `hermes cron serve` (`run/cron.sock`); the shapes are those of
 * types.ts, which the scheduler speaks.
 */
import { controlRequest, socketFor } from "../gateway/control.ts";
import { controlSocketPath } from "../gateway/run.ts";
import type { CronView, LockHolder } from "./types.ts";

export interface Answer {
  socket: string;
  view: CronView;
}

/** The control sockets a scheduler may answer on: the gateway's (wherever it put it), then `cron serve`'s. */
export function schedulerSockets(home: string): string[] {
  return [socketFor(home), controlSocketPath(home, "cron")];
}

/**
 * Asks every candidate at once. `live` is the one that fires (there is at most one); `answers` are all that
 * answered, standbys included. A process that answers without the cron API (a gateway without a scheduler)
 * counts as not answering.
 */
export async function askScheduler(
  home: string,
  timeoutMs = 2000,
): Promise<{ live: Answer | undefined; answers: Answer[] }> {
  const settled = await Promise.allSettled(
    schedulerSockets(home).map(async (socket) => {
      const response = await controlRequest(socket, "GET", "/admin/cron", timeoutMs);
      const body = response.body as Partial<CronView> | undefined;
      if (response.status !== 200 || typeof body?.alive !== "boolean" || !Array.isArray(body.jobs))
        throw new Error(`${socket} does not answer GET /admin/cron`);
      return { socket, view: body as CronView };
    }),
  );
  const answers = settled.flatMap((s) => (s.status === "fulfilled" ? [s.value] : []));
  return { live: answers.find((a) => a.view.alive), answers };
}

/** Asks the scheduler on `socket` to run a job now; the wait covers the job's own timeout. */
export async function runThrough(
  socket: string,
  id: string,
  jobTimeoutMs: number,
): Promise<{ status: number; body: unknown }> {
  return controlRequest(socket, "POST", "/admin/cron/run", jobTimeoutMs + 30_000, { id });
}

export function describeHolder(holder: Pick<LockHolder, "kind" | "pid">): string {
  return `${holder.kind === "gateway" ? "the gateway" : "hermes cron serve"} (pid ${holder.pid})`;
}
