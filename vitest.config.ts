import { configDefaults, defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    // Tests that run the compiled binary need it built first (npm test does).
    globalSetup: ["test/global-setup.ts"],
    reporters: ["default"],
    projects: [
      {
        extends: true,
        test: {
          name: "hermes",
          include: ["src/**/*.test.ts", "test/**/*.test.ts"],
          exclude: [...configDefaults.exclude, "test/systemd/**"],
          testTimeout: 20_000,
          // Most of these tests wait on processes, sockets and timers, not on a CPU: on 2 cores the default (one
          // worker) leaves the machine idle. Every wait is bounded and no timing is pass/fail, so more run at once.
          maxWorkers: 3,
          sequence: { groupOrder: 0 },
        },
      },
      {
        // Real systemd in namespaces (test/systemd): after everything else, one file at a time, so that the
        // restart and watchdog timings they assert are not squeezed by the rest of the suite on 2 cores.
        extends: true,
        test: {
          name: "systemd",
          include: ["test/systemd/**/*.test.ts"],
          testTimeout: 120_000,
          hookTimeout: 60_000,
          fileParallelism: false,
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
