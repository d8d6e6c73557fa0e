/**
 * Splits a reply to a platform's length limit at the best boundary available in each piece: a paragraph, a
 * line, the end of a sentence, a space, else a hard cut (never inside a surrogate pair).
 */
export function splitText(text: string, limit: number): string[] {
  if (limit < 1) throw new RangeError(`Cannot split text: the limit must be at least 1, not ${limit}`);
  const parts: string[] = [];
  let rest = text;
  while ([...rest].length > limit) {
    const window = takeChars(rest, limit);
    const cut = bestCut(window);
    parts.push(rest.slice(0, cut).trimEnd());
    rest = rest.slice(cut).replace(/^\s+/, "");
  }
  if (rest !== "" || parts.length === 0) parts.push(rest);
  return parts.filter((p, i) => p !== "" || i === 0);
}

/** The first `n` characters (code points) of `text`, as a string. */
function takeChars(text: string, n: number): string {
  let count = 0;
  let end = 0;
  for (const ch of text) {
    if (count === n) break;
    end += ch.length;
    count++;
  }
  return text.slice(0, end);
}

function bestCut(window: string): number {
  const min = Math.floor(window.length / 2);
  for (const pattern of [/\n\s*\n/g, /\n/g, /[.!?。！？]["')\]]?\s/g, /\s/g]) {
    let best = -1;
    for (const m of window.matchAll(pattern)) if (m.index! >= min) best = m.index! + m[0].length;
    if (best > 0) return best;
  }
  return window.length;
}
