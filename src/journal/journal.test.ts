import {
  appendFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { Journal, readJournal } from "./journal.ts";

const dirs: string[] = [];
const file = () => {
  const d = mkdtempSync(join(tmpdir(), "hermes-journal-"));
  dirs.push(d);
  return join(d, "sub", "journal.log");
};
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe("Journal", () => {
  it("appends records and reads them back after reopening", async () => {
    const path = file();
    const j = await Journal.open<{ n: number }>(path);
    await j.append({ n: 1 });
    await j.append({ n: 2 });
    await j.close();
    expect((await Journal.open<{ n: number }>(path)).records).toEqual([{ n: 1 }, { n: 2 }]);
  });

  it("commits concurrent appends in groups: far fewer syncs than records", async () => {
    const j = await Journal.open<{ n: number }>(file());
    await Promise.all(Array.from({ length: 1000 }, (_, n) => j.append({ n })));
    expect(j.stats.appended).toBe(1000);
    expect(j.stats.syncs).toBeLessThan(50);
    await j.close();
  });

  it("resolves an append only after its batch is written and synced", async () => {
    const path = file();
    const j = await Journal.open<{ n: number }>(path);
    const seen = j.append({ n: 7 }).then(() => [readFileSync(path, "utf8"), j.stats.syncs]);
    expect(await seen).toEqual(['{"n":7}\n', 1]);
    await j.close();
  });

  it("drops a torn last line and counts corrupt ones", async () => {
    const path = file();
    const j = await Journal.open<{ n: number }>(path);
    await j.append({ n: 1 });
    await j.close();
    appendFileSync(path, 'garbage\n{"n":2}\n{"n":3');
    expect(readJournal(path)).toEqual({ records: [{ n: 1 }, { n: 2 }], corrupt: 1 });
  });

  it("compacts atomically, between batches, and keeps appending afterwards", async () => {
    const path = file();
    const j = await Journal.open<{ n: number }>(path);
    await Promise.all([1, 2, 3].map((n) => j.append({ n })));
    const compacted = j.compact([{ n: 3 }]);
    const after = j.append({ n: 4 });
    await Promise.all([compacted, after]);
    await j.close();
    expect(readJournal(path).records).toEqual([{ n: 3 }, { n: 4 }]);
  });

  it("a snapshot covers the records appended before it, even those not yet written; later ones follow it", async () => {
    const path = file();
    const j = await Journal.open<{ n: number }>(path);
    const before = [1, 2].map((n) => j.append({ n }));
    const compacted = j.compact([{ n: 12 }]);
    const after = j.append({ n: 3 });
    await Promise.all([...before, compacted, after]);
    expect(readJournal(path).records).toEqual([{ n: 12 }, { n: 3 }]);
    expect(j.stats.appended).toBe(2);
    await j.close();
    await expect(j.append({ n: 4 })).rejects.toThrow(/closed/);
  });

  it("appends are not held up while a large snapshot is written; they follow it in the new file", async () => {
    const path = file();
    const j = await Journal.open<{ n: number }>(path);
    await j.append({ n: -1 });
    const events: string[] = [];
    function* snapshot() {
      for (let n = 0; n < 200_000; n++) yield { n };
    }
    const compacted = j.compact(snapshot()).then(() => events.push("compacted"));
    const appends = Array.from({ length: 5 }, (_, i) =>
      new Promise((r) => setTimeout(r, i * 2))
        .then(() => j.append({ n: 1_000_000 + i }))
        .then(() => events.push(`append ${i}`)),
    );
    await Promise.all([compacted, ...appends]);
    expect(events.at(-1)).toBe("compacted");
    await j.close();
    const records = readJournal<{ n: number }>(path).records;
    expect(records).toHaveLength(200_005);
    expect(records.slice(-5).map((r) => r.n)).toEqual([
      1_000_000, 1_000_001, 1_000_002, 1_000_003, 1_000_004,
    ]);
    expect(records[0]).toEqual({ n: 0 });
  });

  it("a compaction that fails leaves the journal as it was, with every record appended", async () => {
    const path = file();
    const j = await Journal.open<{ n: number }>(path);
    await j.append({ n: 1 });
    // The temporary file cannot be created: a directory is in its way.
    mkdirSync(`${path}.${process.pid}.compacting`);
    const pending = j.append({ n: 2 });
    await expect(j.compact([{ n: 2 }])).rejects.toThrow();
    await pending;
    await j.append({ n: 3 });
    await j.close();
    expect(readJournal(path).records).toEqual([{ n: 1 }, { n: 2 }, { n: 3 }]);
    rmSync(`${path}.${process.pid}.compacting`, { recursive: true });
  });

  it("removes the temporary file of a compaction a crash interrupted", async () => {
    const path = file();
    await (await Journal.open(path)).close();
    writeFileSync(`${path}.999.compacting`, '{"half":');
    const j = await Journal.open(path);
    expect(existsSync(`${path}.999.compacting`)).toBe(false);
    await j.close();
  });
});
