import { expect, it } from "vitest";
import { Metrics } from "./metrics.ts";

it("renders counters and gauges in the Prometheus text format, labels escaped", () => {
  const m = new Metrics();
  m.inc("hermes_messages_in_total", "Messages received", { platform: "telegram" });
  m.inc("hermes_messages_in_total", "Messages received", { platform: "telegram" }, 2);
  m.set("hermes_outbox_pending", "Pending", {}, 4);
  m.set("hermes_platform_state", "State", { platform: 'we"ird\\', state: "connected" }, 1);
  expect(m.get("hermes_messages_in_total", { platform: "telegram" })).toBe(3);
  expect(m.render()).toBe(
    [
      "# HELP hermes_messages_in_total Messages received",
      "# TYPE hermes_messages_in_total counter",
      'hermes_messages_in_total{platform="telegram"} 3',
      "# HELP hermes_outbox_pending Pending",
      "# TYPE hermes_outbox_pending gauge",
      "hermes_outbox_pending 4",
      "# HELP hermes_platform_state State",
      "# TYPE hermes_platform_state gauge",
      'hermes_platform_state{platform="we\\"ird\\\\",state="connected"} 1',
      "",
    ].join("\n"),
  );
});
