#!/bin/sh
# hermes with the test platforms registered (test/gateway/harness.ts), as a program a unit can run: the
# systemd scenarios bind this at /opt/hermes/hermes-test-platforms, the source tree at /opt/hermes-src and the
# project's Bun executable at /opt/bun/bun (test/systemd/gateway-unit.ts). exec keeps this pid, so the unit's
# main process, the one NotifyAccess=main accepts READY=1 and WATCHDOG=1 from, is the gateway itself.
# --no-env-file: Bun would otherwise load .env from the working directory (HERMES_HOME); hermes reads it itself.
exec /opt/bun/bun --no-env-file /opt/hermes-src/test/gateway/harness.ts "$@"
