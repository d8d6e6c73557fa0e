/** Token shapes shared by manifests and the token checks. */

/** Telegram bot token: `<bot id>:<35-char secret>`. */
export const TELEGRAM_TOKEN = /^\d{5,16}:[A-Za-z0-9_-]{30,}$/;

/** Discord bot token: three base64url parts; the first encodes the bot's numeric id (a snowflake). */
export function isDiscordToken(value: string): boolean {
  const parts = value.split(".");
  if (parts.length !== 3 || !parts.every((p) => /^[A-Za-z0-9_-]+$/.test(p))) return false;
  const [first, second, third] = parts as [string, string, string];
  if (first.length < 16 || second.length < 5 || third.length < 20) return false;
  return /^\d{15,21}$/.test(decodeBase64Url(first));
}

function decodeBase64Url(part: string): string {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  let bits = 0;
  let acc = 0;
  let out = "";
  for (const ch of part) {
    const n = alphabet.indexOf(ch);
    if (n < 0) return "";
    acc = (acc << 6) | n;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += String.fromCharCode((acc >> bits) & 0xff);
    }
  }
  return out;
}
