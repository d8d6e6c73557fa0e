/**
 * YAML text with positions: parsing with `yaml` + LineCounter, mapping a path back to the line and column of
 * its key or value, and a pre-scan that refuses nesting deep enough to exhaust the parser's stack.
 */
import {
  type Document,
  isAlias,
  isMap,
  isPair,
  isScalar,
  isSeq,
  LineCounter,
  type Node,
  parseDocument,
} from "yaml";
import type { Path } from "./path.ts";

export const MAX_NESTING = 64;

export interface Position {
  line: number;
  column: number;
}

export interface YamlProblem {
  code: string;
  /** One sentence, without any excerpt of the source (it may hold secrets). */
  message: string;
  position?: Position;
  fatal: boolean;
}

export interface YamlSource {
  doc: Document.Parsed;
  lines: LineCounter;
  problems: YamlProblem[];
}

/**
 * Counts how deep flow collections (`[`, `{`) and block indentation nest, without parsing. The `yaml` parser
 * recurses per level, and V8 aborts the whole process (not a catchable error) when that recursion meets a
 * regular expression at the stack's edge, so depth is bounded before parsing.
 */
export function nestingDepth(text: string): { depth: number; line: number } {
  let flow = 0;
  let deepest = 0;
  let deepestLine = 1;
  const indents: number[] = [];
  let line = 1;
  let atLineStart = true;
  let indent = 0;
  let quote: string | null = null;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (ch === "\n") {
      line++;
      atLineStart = true;
      indent = 0;
      continue;
    }
    if (quote) {
      if (ch === "\\" && quote === '"') i++;
      else if (ch === quote) quote = null;
      continue;
    }
    if (atLineStart) {
      if (ch === " " || ch === "-") {
        indent++;
        continue;
      }
      atLineStart = false;
      if (ch !== "#" && ch !== "\r" && ch !== "\t") {
        while (indents.length > 0 && indents[indents.length - 1]! >= indent) indents.pop();
        indents.push(indent);
      }
    }
    if (ch === "#" && (i === 0 || /\s/.test(text[i - 1]!))) {
      const end = text.indexOf("\n", i);
      i = (end < 0 ? text.length : end) - 1;
      continue;
    }
    // A quote opens a quoted scalar only where a scalar can start (not inside `don't`).
    if ((ch === '"' || ch === "'") && (i === 0 || /[\s[{,:]/.test(text[i - 1]!))) quote = ch;
    else if (ch === "[" || ch === "{") flow++;
    else if ((ch === "]" || ch === "}") && flow > 0) flow--;
    const depth = flow + indents.length;
    if (depth > deepest) {
      deepest = depth;
      deepestLine = line;
    }
  }
  return { depth: deepest, line: deepestLine };
}

export function parseYaml(text: string): YamlSource {
  const lines = new LineCounter();
  const nesting = nestingDepth(text);
  if (nesting.depth > MAX_NESTING) {
    const doc = parseDocument("", { lineCounter: new LineCounter() });
    return {
      doc,
      lines,
      problems: [
        {
          code: "TOO_DEEP",
          message: `nesting is deeper than ${MAX_NESTING} levels; a hermes config never needs that many`,
          position: { line: nesting.line, column: 1 },
          fatal: true,
        },
      ],
    };
  }
  const doc = parseDocument(text, {
    lineCounter: lines,
    uniqueKeys: true,
    prettyErrors: false,
    merge: true,
    // Keep YAML 1.2 (the default): `yes`/`on` stay strings and get the yaml11-boolean warning.
  });
  const problems: YamlProblem[] = [];
  const seen = new Set<string>();
  for (const err of doc.errors) {
    // The parser can report one mistake several times at the same place.
    const key = `${err.code}:${err.pos[0]}`;
    if (seen.has(key)) continue;
    seen.add(key);
    problems.push({
      code: err.code,
      message: cleanMessage(err.message),
      position: toPosition(lines, err.pos[0]),
      fatal: err.code !== "DUPLICATE_KEY",
    });
  }
  for (const warn of doc.warnings) {
    problems.push({
      code: warn.code,
      message: cleanMessage(warn.message),
      position: toPosition(lines, warn.pos[0]),
      fatal: false,
    });
  }
  return { doc, lines, problems };
}

/** `yaml` messages end with "at line N, column M:" and a source excerpt; keep the first sentence only. */
function cleanMessage(message: string): string {
  const first = message.split("\n")[0]!.replace(/ at line \d+, column \d+:?\s*$/, "");
  return first.charAt(0).toLowerCase() + first.slice(1);
}

function toPosition(lines: LineCounter, offset: number): Position {
  const pos = lines.linePos(offset);
  return { line: pos.line, column: pos.col };
}

/**
 * The position of a path's key (`key`) or value (`value`). When the path goes further than the document
 * (a key that is absent), the deepest existing node is used.
 */
export function locate(source: YamlSource, path: Path, target: "key" | "value"): Position | undefined {
  let node: unknown = source.doc.contents;
  let keyNode: Node | undefined;
  for (const part of path) {
    node = resolveAlias(source, node);
    if (isMap(node)) {
      const pair = node.items.find(
        (p) => isPair(p) && isScalar(p.key) && String(p.key.value) === String(part),
      );
      if (!pair) break;
      keyNode = pair.key as Node;
      node = pair.value ?? undefined;
      if (node === undefined) {
        node = keyNode;
        break;
      }
    } else if (isSeq(node) && typeof part === "number") {
      const item = node.items[part];
      if (item === undefined) break;
      keyNode = item as Node;
      node = item;
    } else {
      break;
    }
  }
  const chosen = (target === "key" ? (keyNode ?? node) : node) as Node | undefined;
  const offset = chosen?.range?.[0];
  if (offset === undefined) return undefined;
  return toPosition(source.lines, offset);
}

/** Was the scalar at this path written without quotes (plain)? */
export function isPlainScalar(source: YamlSource, path: Path): boolean {
  let node: unknown = source.doc.contents;
  for (const part of path) {
    node = resolveAlias(source, node);
    if (isMap(node)) {
      const pair = node.items.find(
        (p) => isPair(p) && isScalar(p.key) && String(p.key.value) === String(part),
      );
      node = pair?.value;
    } else if (isSeq(node) && typeof part === "number") {
      node = node.items[part];
    } else return false;
  }
  node = resolveAlias(source, node);
  return isScalar(node) && node.type === "PLAIN";
}

function resolveAlias(source: YamlSource, node: unknown): unknown {
  return isAlias(node) ? node.resolve(source.doc) : node;
}
