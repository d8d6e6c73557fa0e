/**
 * Gateway units a test file creates, disposed after each test (their sandboxes stopped); when a test failed, the
 * tail of each named unit's journal is printed first.
 */
import { afterEach } from "vitest";
import { GatewayUnit, type GatewayUnitOptions } from "./gateway-unit.ts";
import { stopAllSandboxes, UNIT_NAME } from "./harness.ts";

export function trackedGatewayUnits(
  journalUnits: string[] = [UNIT_NAME],
): (options: GatewayUnitOptions) => Promise<GatewayUnit> {
  const units: GatewayUnit[] = [];
  afterEach(async (context) => {
    if (context.task.result?.state === "fail") {
      for (const gu of units)
        for (const unit of journalUnits)
          console.log(
            `journal of ${unit} (${gu.sb.name}):\n${(await gu.sb.journal(unit)).slice(-40).join("\n")}`,
          );
    }
    await Promise.all(units.splice(0).map((gu) => gu.dispose()));
    await stopAllSandboxes();
  });
  return async (options) => {
    const gu = await GatewayUnit.create(options);
    units.push(gu);
    return gu;
  };
}
