/** The README's sample of `hermes lint config` is real: running the binary on its files prints exactly it. */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { expect, it } from "vitest";
import { cleanEnv, hermes, ROOT } from "../helpers/cli.ts";
import { tempDir } from "../helpers/home.ts";

it("README's lint config sample is what the binary prints", () => {
  const readme = readFileSync(join(ROOT, "README.md"), "utf8");
  const block = /```console\n([\s\S]*?)```/.exec(readme)?.[1] ?? "";
  const config = /\$ cat ~\/\.hermes\/config\.yaml\n([\s\S]*?)\$ cat/.exec(block)?.[1];
  const env = /\$ cat ~\/\.hermes\/\.env\n([\s\S]*?)\$ cd/.exec(block)?.[1];
  const shown = /\$ cd ~ && hermes lint config\n([\s\S]*?)\$ echo \$\?\n(\d+)/.exec(block);
  expect(config && env && shown).toBeTruthy();

  const home = tempDir();
  mkdirSync(join(home, ".hermes"), { mode: 0o700 });
  writeFileSync(join(home, ".hermes", "config.yaml"), config!, { mode: 0o600 });
  writeFileSync(join(home, ".hermes", ".env"), env!, { mode: 0o600 });
  const run = hermes(["lint", "config"], { cwd: home, env: cleanEnv({ HOME: home }) });
  expect(run.stdout.replaceAll(home, "/home/bot")).toBe(shown![1]);
  expect(String(run.code)).toBe(shown![2]);
});
