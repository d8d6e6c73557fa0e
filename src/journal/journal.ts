/**
 * An append-only journal of JSON lines with group commit: records appended while a write is on its way go out
 * together in the next write, with one fdatasync for the whole batch. `append()` resolves only once its batch is
 * on disk, which is when a message may be acknowledged. Compaction rewrites the live records atomically.
 *
 * A crash can cut only the last write short: a final line without its newline is ignored when the journal is
 * read back, so a record is either wholly there or not at all.
 */
import { Buffer } from "node:buffer";
import { closeSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { type FileHandle, open, rename } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { fsyncDir } from "../fs/atomic.ts";

export interface JournalStats {
  /** fdatasync calls so far. */
  syncs: number;
  /** Records appended since the journal was opened or last compacted (written or on their way). */
  appended: number;
  /** Lines that could not be read back (not counting a torn last line). */
  corrupt: number;
}

interface Waiter {
  resolve(): void;
  reject(error: Error): void;
}

/** A compaction under way: the snapshot is written beside the journal while batches still go to the journal. */
interface Compaction {
  temp: string;
  /** Lines of the journal's own queue that the snapshot already covers (appended before it was taken). */
  covered: number;
  /** Lines written to the journal after the snapshot was taken: they follow it in the new file. */
  tail: string[];
  /** Set once the snapshot is on disk: the next pass of the writer swaps the files. */
  written?: FileHandle;
  /** Records in the snapshot. */
  count: number;
  done(): void;
  fail(error: Error): void;
}

/** Records serialised per write while a snapshot is written: the event loop gets a turn between chunks. */
const SNAPSHOT_CHUNK = 2000;

export class Journal<R> {
  readonly stats: JournalStats = { syncs: 0, appended: 0, corrupt: 0 };
  #handle: FileHandle | undefined;
  #closed = false;
  #lines: string[] = [];
  #waiters: Waiter[] = [];
  #flushing: Promise<void> | undefined;
  #compaction: Compaction | undefined;

  private constructor(
    readonly path: string,
    readonly records: R[],
  ) {}

  /** Opens (creating) the journal and reads back what it holds. */
  static async open<R>(path: string): Promise<Journal<R>> {
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    // A compaction a crash interrupted left its temporary file; the journal itself is intact.
    for (const name of readdirSync(dirname(path)))
      if (name.startsWith(`${basename(path)}.`) && name.endsWith(".compacting"))
        rmSync(join(dirname(path), name), { recursive: true, force: true });
    closeSync(openSync(path, "a", 0o600));
    const { records, corrupt } = readJournal<R>(path);
    const journal = new Journal<R>(path, records);
    journal.stats.corrupt = corrupt;
    journal.#handle = await open(path, "a", 0o600);
    return journal;
  }

  /**
   * Resolves once the record is on disk (with the others of its batch). The caller's own state must already
   * show the record when it appends it: a compaction snapshot taken later stands in for it.
   */
  append(record: R): Promise<void> {
    this.#lines.push(`${JSON.stringify(record)}\n`);
    this.stats.appended++;
    const done = new Promise<void>((resolve, reject) => this.#waiters.push({ resolve, reject }));
    this.#kick();
    return done;
  }

  /**
   * Replaces the journal's content with `records`, a snapshot of the caller's state now: it stands in for every
   * record appended so far, and records appended from now on follow it. The snapshot is written beside the
   * journal in chunks, while appends keep going to the journal, and then renamed over it; a crash at any point
   * leaves the old journal or the new one, whole.
   */
  compact(records: Iterable<R>): Promise<void> {
    if (this.#compaction)
      return Promise.reject(new Error(`a compaction of ${this.path} is already under way`));
    if (this.#closed) return Promise.reject(new Error(`the journal ${this.path} is closed`));
    return new Promise((done, fail) => {
      const compaction: Compaction = {
        temp: `${this.path}.${process.pid}.compacting`,
        covered: this.#lines.length,
        tail: [],
        count: 0,
        done,
        fail,
      };
      this.#compaction = compaction;
      this.#writeSnapshot(compaction, records).then(
        (handle) => {
          if (this.#compaction !== compaction) {
            void handle.close().catch(() => {});
            return;
          }
          compaction.written = handle;
          this.#kick();
        },
        (error: unknown) => this.#abandon(compaction, error),
      );
    });
  }

  /** Writes what is pending, then closes; later appends are refused, a compaction under way is abandoned. */
  async close(): Promise<void> {
    while (this.#flushing) await this.#flushing;
    this.#closed = true;
    if (this.#compaction) this.#abandon(this.#compaction, new Error(`the journal ${this.path} was closed`));
    await this.#handle?.close();
    this.#handle = undefined;
  }

  #kick(): void {
    this.#flushing ??= this.#flush().finally(() => {
      this.#flushing = undefined;
      if (this.#lines.length > 0 || this.#compaction?.written) this.#kick();
    });
  }

  async #flush(): Promise<void> {
    while (this.#lines.length > 0 || this.#compaction?.written) {
      if (this.#lines.length > 0) {
        const lines = this.#lines.splice(0);
        const waiters = this.#waiters.splice(0);
        const compaction = this.#compaction;
        if (compaction) {
          compaction.tail.push(...lines.slice(compaction.covered));
          compaction.covered = Math.max(0, compaction.covered - lines.length);
        }
        try {
          const handle = this.#handle;
          if (!handle) throw new Error(`the journal ${this.path} is closed`);
          await writeAll(handle, lines.join(""));
          await handle.datasync();
          this.stats.syncs++;
          for (const w of waiters) w.resolve();
        } catch (error) {
          for (const w of waiters) w.reject(error instanceof Error ? error : new Error(String(error)));
        }
      }
      const compaction = this.#compaction;
      if (compaction?.written) await this.#swap(compaction, compaction.written);
    }
  }

  async #writeSnapshot(compaction: Compaction, records: Iterable<R>): Promise<FileHandle> {
    const out = await open(compaction.temp, "w", 0o600);
    try {
      let chunk: string[] = [];
      let count = 0;
      for (const record of records) {
        chunk.push(`${JSON.stringify(record)}\n`);
        if (chunk.length === SNAPSHOT_CHUNK) {
          await writeAll(out, chunk.join(""));
          count += chunk.length;
          chunk = [];
        }
      }
      await writeAll(out, chunk.join(""));
      await out.datasync();
      compaction.count = count + chunk.length;
      return out;
    } catch (error) {
      await out.close().catch(() => {});
      throw error;
    }
  }

  /** Between two batches: the lines written since the snapshot follow it, and the new file takes the old one's place. */
  async #swap(compaction: Compaction, out: FileHandle): Promise<void> {
    this.#compaction = undefined;
    try {
      if (this.#closed) throw new Error(`the journal ${this.path} is closed`);
      await writeAll(out, compaction.tail.join(""));
      await out.datasync();
      await out.close();
      await this.#handle?.close();
      this.#handle = undefined;
      try {
        await rename(compaction.temp, this.path);
        fsyncDir(dirname(this.path));
        this.stats.syncs++;
        // Lines the snapshot covers that were still waiting for a batch are not written at all: it stands in.
        this.#lines.splice(0, compaction.covered);
        for (const w of this.#waiters.splice(0, compaction.covered)) w.resolve();
        this.stats.appended = compaction.count + compaction.tail.length + this.#lines.length;
      } finally {
        this.#handle = await open(this.path, "a", 0o600);
      }
      compaction.done();
    } catch (error) {
      await out.close().catch(() => {});
      this.#abandon(compaction, error);
    }
  }

  #abandon(compaction: Compaction, error: unknown): void {
    if (this.#compaction === compaction) this.#compaction = undefined;
    try {
      rmSync(compaction.temp, { force: true });
    } catch {
      // not a file we made (something else is in the way): leave it
    }
    compaction.fail(error instanceof Error ? error : new Error(String(error)));
  }
}

async function writeAll(handle: FileHandle, text: string): Promise<void> {
  const data = Buffer.from(text);
  for (let offset = 0; offset < data.length; ) offset += (await handle.write(data, offset)).bytesWritten;
}

/** Reads a journal file back; a last line without its newline is a write a crash cut short, and is dropped. */
export function readJournal<R>(path: string): { records: R[]; corrupt: number } {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch {
    return { records: [], corrupt: 0 };
  }
  const lines = text.split("\n");
  lines.pop(); // after the last newline: empty, or a torn write
  const records: R[] = [];
  let corrupt = 0;
  for (const line of lines) {
    if (line === "") continue;
    try {
      records.push(JSON.parse(line) as R);
    } catch {
      corrupt++;
    }
  }
  return { records, corrupt };
}
