import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["src/**/*.test.ts", "test/**/*.test.ts"],
    // Tests that run the compiled binary need it built first (npm test does).
    globalSetup: ["test/global-setup.ts"],
    testTimeout: 20_000,
    reporters: ["default"],
  },
});
