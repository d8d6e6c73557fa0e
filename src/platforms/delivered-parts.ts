/** Keeps at most this many entries in a per-message map: a message that never succeeds must not grow it forever. */
export const MESSAGES_KEPT = 10_000;

/** Sets `key` in an insertion-ordered map, dropping the oldest entry once it holds `limit`. */
export function remember<V>(map: Map<string, V>, key: string, value: V, limit = MESSAGES_KEPT): void {
  if (map.size >= limit) {
    const oldest = map.keys().next().value;
    if (oldest !== undefined) map.delete(oldest);
  }
  map.set(key, value);
}

/** The parts of split messages already delivered, by message id: a retry resumes instead of repeating them. */
export class DeliveredParts {
  readonly #next = new Map<string, number>();

  /** Sends `parts` of message `id` in order with `sendPart`, from the first one a failed try did not deliver. */
  async send(
    id: string,
    parts: readonly string[],
    sendPart: (part: string, index: number) => Promise<unknown>,
  ): Promise<void> {
    const first = this.#next.get(id) ?? 0;
    for (const [offset, part] of parts.slice(first).entries()) {
      const index = first + offset;
      await sendPart(part, index);
      if (index + 1 < parts.length) remember(this.#next, id, index + 1);
    }
    this.#next.delete(id);
  }
}
