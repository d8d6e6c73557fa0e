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

interface Compaction<R> {
  records: R[];
  /** Lines appended before the snapshot was taken: the snapshot holds their effect. */
  covered: string[];
  waiters: Waiter[];
  done(): void;
  fail(error: Error): void;
}

export class Journal<R> {
  readonly stats: JournalStats = { syncs: 0, appended: 0, corrupt: 0 };
  #handle: FileHandle | undefined;
  #closed = false;
  #lines: string[] = [];
  #waiters: Waiter[] = [];
  #flushing: Promise<void> | undefined;
  #compaction: Compaction<R> | undefined;

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
   * show the record when it appends it: a compaction snapshot taken later replaces it.
   */
  append(record: R): Promise<void> {
    this.#lines.push(`${JSON.stringify(record)}\n`);
    this.stats.appended++;
    const done = new Promise<void>((resolve, reject) => this.#waiters.push({ resolve, reject }));
    this.#kick();
    return done;
  }

  /**
   * Replaces the journal's content with `records`, a snapshot of the caller's state now: it covers every record
   * appended so far, and records appended from now on follow it. Written beside the journal and renamed over
   * it, without blocking the event loop.
   */
  compact(records: R[]): Promise<void> {
    if (this.#compaction)
      return Promise.reject(new Error(`a compaction of ${this.path} is already under way`));
    return new Promise((done, fail) => {
      this.#compaction = {
        records,
        covered: this.#lines.splice(0),
        waiters: this.#waiters.splice(0),
        done,
        fail,
      };
      this.#kick();
    });
  }

  /** Writes what is pending, then closes; later appends are refused. */
  async close(): Promise<void> {
    while (this.#flushing) await this.#flushing;
    this.#closed = true;
    await this.#handle?.close();
    this.#handle = undefined;
  }

  #kick(): void {
    this.#flushing ??= this.#flush().finally(() => {
      this.#flushing = undefined;
      if (this.#lines.length > 0 || this.#compaction) this.#kick();
    });
  }

  async #flush(): Promise<void> {
    while (this.#lines.length > 0 || this.#compaction) {
      // A pending compaction goes first: the lines queued behind it belong after the snapshot.
      const compaction = this.#compaction;
      if (compaction) {
        this.#compaction = undefined;
        try {
          await this.#rewrite(compaction.records);
          for (const w of compaction.waiters) w.resolve();
          compaction.done();
        } catch (error) {
          // The old file is still the journal: the lines the snapshot covered are written to it as usual.
          this.#lines.unshift(...compaction.covered);
          this.#waiters.unshift(...compaction.waiters);
          compaction.fail(error instanceof Error ? error : new Error(String(error)));
        }
      }
      if (this.#lines.length > 0) {
        const data = Buffer.from(this.#lines.splice(0).join(""));
        const waiters = this.#waiters.splice(0);
        try {
          const handle = this.#handle;
          if (!handle) throw new Error(`the journal ${this.path} is closed`);
          for (let offset = 0; offset < data.length; )
            offset += (await handle.write(data, offset)).bytesWritten;
          await handle.datasync();
          this.stats.syncs++;
          for (const w of waiters) w.resolve();
        } catch (error) {
          for (const w of waiters) w.reject(error instanceof Error ? error : new Error(String(error)));
        }
      }
    }
  }

  async #rewrite(records: R[]): Promise<void> {
    if (this.#closed) throw new Error(`the journal ${this.path} is closed`);
    const temp = `${this.path}.${process.pid}.compacting`;
    const data = Buffer.from(records.map((r) => `${JSON.stringify(r)}\n`).join(""));
    const out = await open(temp, "w", 0o600);
    try {
      for (let offset = 0; offset < data.length; ) offset += (await out.write(data, offset)).bytesWritten;
      await out.datasync();
    } finally {
      await out.close();
    }
    await this.#handle?.close();
    this.#handle = undefined;
    try {
      await rename(temp, this.path);
      fsyncDir(dirname(this.path));
      this.stats.syncs++;
      this.stats.appended = records.length + this.#lines.length;
    } finally {
      this.#handle = await open(this.path, "a", 0o600);
    }
  }
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
