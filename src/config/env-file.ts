/** One `KEY=value` assignment read from a `.env` file. */
export interface EnvEntry {
  key: string;
  value: string;
  /** 1-based line of the key. */
  line: number;
  /** The value was quoted in the file (quotes are not part of the value). */
  quoted: boolean;
}

/** A line the parser could not use; the message never contains the line's value. */
export interface EnvProblem {
  line: number;
  message: string;
}

export interface EnvFile {
  entries: EnvEntry[];
  problems: EnvProblem[];
}

const ASSIGNMENT = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_.]*)\s*=\s?/;
const DOUBLE_ESCAPES: Record<string, string> = { n: "\n", r: "\r", t: "\t", '"': '"', "\\": "\\", $: "$" };

/**
 * Parses dotenv text the way users expect from docker/compose and dotenv: `export ` prefixes, `#` comments,
 * single, double and backtick quotes (multi-line allowed), `\n` escapes in double quotes only, CRLF line ends.
 * Nothing is interpolated: `${X}` in a value stays as written. Later assignments win.
 */
export function parseEnvFile(text: string): EnvFile {
  const lines = text.replace(/^\uFEFF/, "").split(/\r?\n/);
  const entries: EnvEntry[] = [];
  const problems: EnvProblem[] = [];
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i]!;
    const lineNo = i + 1;
    const trimmed = raw.trim();
    if (trimmed === "" || trimmed.startsWith("#")) continue;
    const match = ASSIGNMENT.exec(raw);
    if (!match) {
      problems.push({ line: lineNo, message: describeBadLine(trimmed) });
      continue;
    }
    const key = match[1]!;
    let rest = raw.slice(match[0].length).replace(/^\s+/, "");
    const quote = rest[0];
    if (quote === '"' || quote === "'" || quote === "`") {
      // A quoted value may continue on the following lines until its closing quote.
      let body = rest.slice(1);
      let end = findClosingQuote(body, quote);
      let j = i;
      while (end < 0 && j + 1 < lines.length) {
        j++;
        body += `\n${lines[j]}`;
        end = findClosingQuote(body, quote);
      }
      if (end < 0) {
        // No closing quote anywhere: keep the line as an unquoted value, so the stray quote stays visible
        // to the token checks instead of silently swallowing the rest of the file.
        entries.push({ key, value: stripInlineComment(rest), line: lineNo, quoted: false });
        continue;
      }
      const inner = body.slice(0, end);
      const after = body.slice(end + 1).trim();
      if (after !== "" && !after.startsWith("#")) {
        problems.push({ line: j + 1, message: `text after the closing quote of ${key} is ignored` });
      }
      entries.push({
        key,
        value: quote === '"' ? unescapeDouble(inner) : inner,
        line: lineNo,
        quoted: true,
      });
      i = j;
      continue;
    }
    rest = stripInlineComment(rest);
    entries.push({ key, value: rest, line: lineNo, quoted: false });
  }
  return { entries, problems };
}

/** The last assignment of each key, as a plain record. */
export function envRecord(file: EnvFile): Record<string, string> {
  const out: Record<string, string> = {};
  for (const entry of file.entries) out[entry.key] = entry.value;
  return out;
}

function findClosingQuote(body: string, quote: string): number {
  for (let k = 0; k < body.length; k++) {
    const ch = body[k];
    if (ch === "\\" && quote === '"') {
      k++;
      continue;
    }
    if (ch === quote) return k;
  }
  return -1;
}

function unescapeDouble(inner: string): string {
  return inner.replace(/\\(.)/gs, (whole, ch: string) => DOUBLE_ESCAPES[ch] ?? whole);
}

function stripInlineComment(value: string): string {
  const hash = value.search(/\s#/);
  return (hash >= 0 ? value.slice(0, hash) : value).trim();
}

function describeBadLine(trimmed: string): string {
  if (!trimmed.includes("=")) return "line is not a KEY=value assignment; ignored";
  const name = trimmed
    .slice(0, trimmed.indexOf("="))
    .replace(/^export\s+/, "")
    .trim();
  // Only the name is quoted, never the value: the value may be a secret.
  return `"${name.slice(0, 40)}" is not a valid variable name; line ignored`;
}
