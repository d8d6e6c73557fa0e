// The cron benchmark's baseline: the least a croner program does to run the same jobs. It schedules every job of
// a hermes cron/jobs.json (its first argument) and, when one fires, notes the time (its action start: one line
// `<job id> <epoch ms>` on stdout, as hermes logs `cron.run` with `started_at`), then spawns its shell command, or
// for a message job posts the text to the gateway's /v1/send on the control socket given as second argument, as
// `cron serve` forwards results. Nothing more: no state, no overlap guard, no timeout, no spool. Compiled like
// hermes.
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { Agent, request } from "node:http";
import { Cron } from "croner";

const [jobsFile, gatewaySocket] = process.argv.slice(2);
if (!jobsFile) throw new Error("usage: cron-floor JOBS_JSON [GATEWAY_SOCKET]");
const { jobs } = JSON.parse(readFileSync(jobsFile, "utf8")) as {
  jobs: {
    id: string;
    schedule: string;
    timezone?: string;
    command?: string;
    message?: string;
    deliver?: string[];
  }[];
};

// Connections are kept and reused, as a forwarder that sends many results would.
const agent = new Agent({ keepAlive: true, maxSockets: 16 });

function send(id: string, target: string, text: string): void {
  const req = request({ socketPath: gatewaySocket, path: "/v1/send", method: "POST", agent }, (res) =>
    res.resume(),
  );
  req.on("error", () => {});
  req.end(JSON.stringify({ id, target, text }));
}

for (const job of jobs) {
  const cron: Cron = new Cron(job.schedule, { timezone: job.timezone ?? "UTC" }, () => {
    const started = Date.now();
    if (job.command !== undefined) spawn("/bin/sh", ["-c", job.command], { stdio: "ignore" });
    else if (job.message !== undefined && gatewaySocket) {
      const slot = cron.currentRun()?.toISOString() ?? new Date().toISOString();
      for (const [i, target] of (job.deliver ?? []).entries())
        send(`cron:${job.id}:${slot}:${i}`, target, job.message);
    }
    process.stdout.write(`${job.id} ${started}\n`);
  });
}
process.stdout.write("ready\n");
