/**
 * Structured logging through consola's reporter seam: one line per event, JSON when stdout is not a terminal
 * (journald, files, pipes), a short human line on a terminal. Every record passes the redactor first.
 */
import { appendFileSync, renameSync, statSync } from "node:fs";
import { type ConsolaReporter, createConsola, type LogObject } from "consola/core";
import type { Redactor } from "../lint/redact.ts";

export type Fields = Record<string, unknown>;
export type Level = "debug" | "info" | "warn" | "error";

export interface Logger {
  debug(event: string, msg: string, fields?: Fields): void;
  info(event: string, msg: string, fields?: Fields): void;
  warn(event: string, msg: string, fields?: Fields): void;
  error(event: string, msg: string, fields?: Fields): void;
  /** A logger that adds these fields to every record (e.g. the platform). */
  child(fields: Fields): Logger;
}

export interface LogRecord extends Fields {
  time: string;
  level: Level;
  event: string;
  msg: string;
}

export interface LoggerOptions {
  level: "debug" | "info" | "warn" | "error" | "silent";
  /** JSON lines (default: when stdout is not a terminal). */
  json?: boolean;
  redactor?: Redactor;
  /** Where lines go (default: stdout). */
  write?: (line: string) => void;
  /** Also append to this file, rotated at 10 MiB (the gateway when not under systemd). */
  file?: string;
  /** Receives every record (tests). */
  capture?: (record: LogRecord) => void;
}

const CONSOLA_LEVEL = { silent: -999, error: 0, warn: 1, info: 3, debug: 4 } as const;
const ROTATE_BYTES = 10 * 1024 * 1024;
const KEEP_FILES = 5;

export function createLogger(options: LoggerOptions): Logger {
  const json = options.json ?? !process.stdout.isTTY;
  const write = options.write ?? ((line: string) => process.stdout.write(line));
  let fileBytes = options.file ? sizeOf(options.file) : 0;
  const reporter: ConsolaReporter = {
    log(logObj: LogObject) {
      const raw = logObj.args[0] as LogRecord;
      const record = options.redactor ? options.redactor.deep(raw) : raw;
      options.capture?.(record);
      const line = json ? `${JSON.stringify(record)}\n` : human(record);
      write(line);
      if (options.file) {
        const fileLine = json ? line : `${JSON.stringify(record)}\n`;
        if (fileBytes + fileLine.length > ROTATE_BYTES) {
          rotate(options.file);
          fileBytes = 0;
        }
        try {
          appendFileSync(options.file, fileLine, { mode: 0o600 });
          fileBytes += fileLine.length;
        } catch {
          // A full disk must not take the gateway down; stdout still has the line.
        }
      }
    },
  };
  // Every state transition is logged: consola's throttling of repeated lines stays off.
  const consola = createConsola({ level: CONSOLA_LEVEL[options.level], reporters: [reporter], throttle: 0 });
  const make = (base: Fields): Logger => {
    const emit =
      (level: Level) =>
      (event: string, msg: string, fields: Fields = {}) => {
        consola[level]({
          time: new Date().toISOString(),
          level,
          event,
          msg,
          ...base,
          ...fields,
        } satisfies LogRecord);
      };
    return {
      debug: emit("debug"),
      info: emit("info"),
      warn: emit("warn"),
      error: emit("error"),
      child: (fields) => make({ ...base, ...fields }),
    };
  };
  return make({});
}

function human(record: LogRecord): string {
  const { time, level, event: _event, msg, ...fields } = record;
  const extra = Object.entries(fields)
    .filter(([, value]) => value !== undefined && value !== null)
    .map(([key, value]) => `${key}=${typeof value === "string" ? value : JSON.stringify(value)}`)
    .join(" ");
  return `${time.slice(11, 23)} ${level.toUpperCase().padEnd(5)} ${msg}${extra ? `  ${extra}` : ""}\n`;
}

function sizeOf(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

function rotate(path: string): void {
  for (let i = KEEP_FILES - 1; i >= 1; i--) {
    try {
      renameSync(i === 1 ? path : `${path}.${i - 1}`, `${path}.${i}`);
    } catch {
      // a missing generation is fine
    }
  }
}

/** A logger that drops everything (for code paths that need one and tests that do not care). */
export const silentLogger: Logger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
  child: () => silentLogger,
};
