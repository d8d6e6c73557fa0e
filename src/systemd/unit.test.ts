import { describe, expect, it } from "vitest";
import { serviceUnitOf, unitFromCgroup } from "./unit.ts";

describe("unitFromCgroup", () => {
  it("a system unit on the unified hierarchy", () => {
    expect(unitFromCgroup("0::/system.slice/hermes-gateway.service\n")).toEqual({
      unit: "hermes-gateway.service",
      manager: "system",
    });
  });

  it("a user unit: the path runs through user@<uid>.service", () => {
    expect(
      unitFromCgroup(
        "0::/user.slice/user-1000.slice/user@1000.service/app.slice/hermes-gateway-bot2.service\n",
      ),
    ).toEqual({ unit: "hermes-gateway-bot2.service", manager: "user" });
  });

  it("the last .service component, below which the service may have sub-cgroups", () => {
    expect(unitFromCgroup("0::/system.slice/hermes-gateway.service/payload\n")).toEqual({
      unit: "hermes-gateway.service",
      manager: "system",
    });
  });

  it("hybrid and v1 layouts: the unified line first, else name=systemd, else any controller", () => {
    const hybrid = [
      "12:memory:/system.slice/other.service",
      "1:name=systemd:/system.slice/hermes-gateway.service",
      "0::/system.slice/hermes-gateway.service",
    ].join("\n");
    expect(unitFromCgroup(hybrid)?.unit).toBe("hermes-gateway.service");
    const v1 = [
      "4:memory:/system.slice/other.service",
      "1:name=systemd:/user.slice/user-0.slice/user@0.service/app.slice/hermes-gateway.service",
    ].join("\n");
    expect(unitFromCgroup(v1)).toEqual({ unit: "hermes-gateway.service", manager: "user" });
  });

  it("not in a service: a login session, a scope in a user manager, the root", () => {
    expect(unitFromCgroup("0::/user.slice/user-1000.slice/session-3.scope\n")).toBeUndefined();
    // Never the user manager itself: "stopping its unit" would stop the user's whole manager.
    expect(
      unitFromCgroup("0::/user.slice/user-1000.slice/user@1000.service/app.slice/app-term-42.scope\n"),
    ).toBeUndefined();
    expect(unitFromCgroup("0::/\n")).toBeUndefined();
    expect(unitFromCgroup("")).toBeUndefined();
  });
});

describe("serviceUnitOf", () => {
  it("gives undefined for a process that does not exist (reading /proc/self is tested end to end)", () => {
    expect(serviceUnitOf(2 ** 22 + 1)).toBeUndefined();
  });
});
