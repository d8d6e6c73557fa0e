/** A `reply_url` receiver on loopback: records what the gateway POSTs and answers as the test says. */
import { createServer, type IncomingMessage, type Server } from "node:http";
import { afterEach } from "vitest";
import { sign, verify } from "../../src/platforms/webhook/signature.ts";

export const SECRET = "3f9a1c7e5b2d8f4a6c0e9b7d5f3a1c8e";
const open: Server[] = [];
afterEach(() => {
  for (const s of open.splice(0)) s.close();
});

export interface Delivery {
  body: { id: string; chat_id: string; text: string; in_reply_to: string | null };
  signatureOk: boolean;
  at: number;
  status: number;
}

export interface Receiver {
  url: string;
  port: number;
  /** Every request, with the status it was answered with. */
  requests: Delivery[];
  /** The requests answered 200. */
  delivered(): Delivery[];
  close(): Promise<void>;
}

/** `answer` decides each response: a status, optionally with headers. Default 200. */
export async function receiver(
  answer: (n: number) => { status: number; headers?: Record<string, string>; delayMs?: number } = () => ({
    status: 200,
  }),
  port = 0,
): Promise<Receiver> {
  const requests: Delivery[] = [];
  const server = createServer((req: IncomingMessage, res) => {
    let raw = "";
    req.on("data", (c) => (raw += c));
    req.on("end", () => {
      const verdict = verify(
        SECRET,
        raw,
        req.headers["x-hermes-signature"] as string,
        (req.headers["x-hermes-timestamp"] as string) ?? null,
        Math.floor(Date.now() / 1000),
      );
      const { status, headers, delayMs } = answer(requests.length);
      const respond = () => {
        requests.push({ body: JSON.parse(raw), signatureOk: verdict.ok, at: Date.now(), status });
        res.writeHead(status, headers);
        res.end(status === 200 ? "ok" : "no");
      };
      if (delayMs) setTimeout(respond, delayMs);
      else respond();
    });
  });
  open.push(server);
  const bound = await new Promise<number>((resolve) =>
    server.listen(port, "127.0.0.1", () => resolve((server.address() as { port: number }).port)),
  );
  return {
    url: `http://127.0.0.1:${bound}/reply`,
    port: bound,
    requests,
    delivered: () => requests.filter((r) => r.status === 200),
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/** POSTs a signed webhook message to a gateway. */
export function postMessage(
  port: number,
  message: { chat_id: string; user_id: string; text: string; message_id: string },
): Promise<Response> {
  const body = JSON.stringify(message);
  return fetch(`http://127.0.0.1:${port}/webhooks/webhook`, {
    method: "POST",
    headers: { "content-type": "application/json", "x-hermes-signature": sign(SECRET, body) },
    body,
  });
}
