/**
 * Time zones as jobs use them: the machine's zone (what a job without `timezone` runs in) and a time shown as the
 * wall clock of a zone. Shared by the scheduler (`/cron` in chat) and the `hermes cron` commands.
 */

let local: string | undefined;

/** The machine's time zone name (what a job without `timezone` uses). */
export function localZone(): string {
  local ??= Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
  return local;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

/**
 * `2026-12-02 03:00` (seconds only when not zero) as the wall clock of `zone`; with `showZone`, the zone after it.
 * A zone the runtime does not know shows the time in UTC, saying so.
 */
export function formatInZone(at: Date, zone: string, options: { showZone?: boolean } = {}): string {
  let format = formatters.get(zone);
  if (!format) {
    try {
      format = new Intl.DateTimeFormat("en-US", {
        timeZone: zone,
        year: "numeric",
        month: "2-digit",
        day: "2-digit",
        hour: "2-digit",
        minute: "2-digit",
        second: "2-digit",
        hourCycle: "h23",
      });
    } catch {
      return formatInZone(at, "UTC", { showZone: true });
    }
    formatters.set(zone, format);
  }
  const part: Record<string, string> = {};
  for (const p of format.formatToParts(at)) part[p.type] = p.value;
  const seconds = part.second === "00" ? "" : `:${part.second}`;
  const text = `${part.year}-${part.month}-${part.day} ${part.hour}:${part.minute}${seconds}`;
  return options.showZone ? `${text} ${zone}` : text;
}
