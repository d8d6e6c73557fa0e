/**
 * The one hono app, served on `gateway.http.listen` and on the control socket. The app is a value: tests call
 * `app.request()` without a port; only the runtime binds it.
 */
import { Hono, type MiddlewareHandler } from "hono";
import { bearerAuth } from "hono/bearer-auth";
import { isLoopbackHost } from "../config/fields.ts";

export type SendResult = { ok: true; id: string } | { ok: false; status: 400 | 409 | 503; error: string };

export interface SendOptions {
  /** A stable id (the outbox de-duplicates by it): a job's result forwarded by `hermes cron serve`. */
  id?: string;
  /** Told when the message becomes a dead letter (a job's failure_deliver). */
  failureTargets?: string[];
}

/** `POST /admin/cron/run`'s answer: the status code and the JSON body. */
export interface CronRunResponse {
  status: 200 | 404 | 409 | 503;
  body: unknown;
}

/** What the HTTP routes need from the gateway. */
export interface GatewayApi {
  status(): unknown;
  readiness(): { ready: boolean; state: string };
  metrics(): string;
  send(target: string, text: string, options?: SendOptions): Promise<SendResult>;
  webhook(platform: string, request: Request): Promise<Response>;
  admin(action: "restart" | "stop" | "reload" | "drain"): { accepted: boolean; state: string };
  /** The outbox, for `hermes outbox` (control socket only). */
  outboxList?(state: "pending" | "dead"): unknown[];
  outboxRetry?(state: "pending" | "dead", ids?: string[]): Promise<string[]>;
  outboxPurge?(state: "pending" | "dead", ids?: string[]): Promise<string[]>;
  /** The scheduler, for `hermes cron` (control socket only). */
  cronView?(): unknown;
  cronRun?(id: string): Promise<CronRunResponse>;
}

export interface AppOptions {
  api: GatewayApi;
  /** `gateway.http.auth_token`: required as a bearer token everywhere but health checks and signed webhooks. */
  authToken?: string;
  /** The control socket: admin routes, no token (access is the socket directory's file mode). */
  control?: boolean;
}

/** Without a token, state and sending answer only requests addressed to a loopback name (DNS rebinding). */
const loopbackOnly: MiddlewareHandler = async (c, next) => {
  const host = (c.req.header("host") ?? "").replace(/:\d+$/, "").replace(/^\[(.*)\]$/, "$1");
  if (!isLoopbackHost(host))
    return c.json({ error: "set gateway.http.auth_token to use this route from another host" }, 403);
  await next();
};

/** Messages one `POST /v1/send` may carry as `{"messages": [...]}`. */
export const MAX_BATCH = 1000;

/** One message of `POST /v1/send`: `{target, text, id?, failure_targets?}`, or what is wrong with it. */
function sendRequest(
  body: unknown,
): { target: string; text: string; options: SendOptions } | { error: string } {
  const { target, text, id, failure_targets } = (body ?? {}) as {
    target?: unknown;
    text?: unknown;
    id?: unknown;
    failure_targets?: unknown;
  };
  if (typeof target !== "string" || typeof text !== "string" || text === "")
    return { error: 'expected {"target": "platform" or "platform:chat_id", "text": "…"}' };
  if (id !== undefined && (typeof id !== "string" || id === "" || id.length > 256))
    return { error: '"id" must be a non-empty string of at most 256 characters' };
  if (
    failure_targets !== undefined &&
    (!Array.isArray(failure_targets) || !failure_targets.every((t) => typeof t === "string" && t !== ""))
  )
    return { error: '"failure_targets" must be a list of targets such as "telegram:123"' };
  return {
    target,
    text,
    options: {
      ...(id !== undefined ? { id } : {}),
      ...(failure_targets !== undefined ? { failureTargets: failure_targets as string[] } : {}),
    },
  };
}

export function createApp(options: AppOptions): Hono {
  const { api } = options;
  const app = new Hono();
  const guard: MiddlewareHandler = options.control
    ? async (_c, next) => next()
    : options.authToken
      ? bearerAuth({ token: options.authToken })
      : loopbackOnly;

  app.get("/healthz", (c) => c.json({ status: "ok" }));
  app.get("/readyz", (c) => {
    const r = api.readiness();
    return c.json({ ready: r.ready, state: r.state }, r.ready ? 200 : 503);
  });
  app.get("/status", guard, (c) => c.json(api.status() as object));
  app.get("/metrics", guard, (c) =>
    c.text(api.metrics(), 200, { "content-type": "text/plain; version=0.0.4; charset=utf-8" }),
  );
  app.post("/v1/send", guard, async (c) => {
    if (!(c.req.header("content-type") ?? "").toLowerCase().startsWith("application/json")) {
      return c.json({ error: "send JSON: Content-Type must be application/json" }, 415);
    }
    let body: unknown;
    try {
      body = await c.req.json();
    } catch {
      return c.json({ error: "the body is not valid JSON" }, 400);
    }
    const batch = (body as { messages?: unknown } | null)?.messages;
    if (batch === undefined) {
      const one = sendRequest(body);
      if ("error" in one) return c.json({ error: one.error }, 400);
      const result = await api.send(one.target, one.text, one.options);
      return result.ok ? c.json({ id: result.id }, 202) : c.json({ error: result.error }, result.status);
    }
    // A batch (how `hermes cron serve` forwards its spool): sent in order without waiting in between, so the
    // outbox keeps their order and writes them together; one result each, in the same order.
    if (!Array.isArray(batch) || batch.length === 0 || batch.length > MAX_BATCH)
      return c.json({ error: `"messages" must be a list of 1 to ${MAX_BATCH} messages` }, 400);
    const results = await Promise.all(
      batch.map((m) => {
        const one = sendRequest(m);
        return "error" in one
          ? ({ ok: false, status: 400, error: one.error } as const)
          : api.send(one.target, one.text, one.options);
      }),
    );
    return c.json(
      {
        results: results.map((r) =>
          r.ok ? { status: 202, id: r.id } : { status: r.status, error: r.error },
        ),
      },
      200,
    );
  });
  app.all("/webhooks/:platform", (c) => api.webhook(c.req.param("platform"), c.req.raw));
  if (options.control) {
    for (const action of ["restart", "stop", "reload", "drain"] as const) {
      app.post(`/admin/${action}`, (c) => {
        const r = api.admin(action);
        return c.json({ ...r, pid: process.pid }, r.accepted ? 202 : 409);
      });
    }
    const state = (value: string | undefined) => (value === "dead" ? "dead" : "pending");
    const ids = async (c: { req: { json(): Promise<unknown> } }) => {
      const body = (await c.req.json().catch(() => ({}))) as { ids?: unknown };
      return Array.isArray(body.ids) ? body.ids.map(String) : undefined;
    };
    app.get("/admin/outbox", (c) =>
      c.json({ messages: api.outboxList?.(state(c.req.query("state"))) ?? [] }),
    );
    app.post("/admin/outbox/retry", async (c) =>
      c.json({ ids: (await api.outboxRetry?.(state(c.req.query("state")), await ids(c))) ?? [] }),
    );
    app.post("/admin/outbox/purge", async (c) =>
      c.json({ ids: (await api.outboxPurge?.(state(c.req.query("state")), await ids(c))) ?? [] }),
    );
    app.get("/admin/cron", (c) =>
      api.cronView ? c.json(api.cronView() as object) : c.json({ error: "no scheduler here" }, 404),
    );
    app.post("/admin/cron/run", async (c) => {
      if (!api.cronRun) return c.json({ error: "no scheduler here" }, 404);
      const body = (await c.req.json().catch(() => undefined)) as { id?: unknown } | undefined;
      if (typeof body?.id !== "string" || body.id === "")
        return c.json({ error: 'expected JSON {"id": "<job id>"}' }, 400);
      const r = await api.cronRun(body.id);
      return c.json(r.body as object, r.status);
    });
  }
  app.notFound((c) => c.json({ error: "no such route" }, 404));
  app.onError((error, c) => {
    if ("getResponse" in error && typeof error.getResponse === "function") return error.getResponse();
    return c.json({ error: "internal error" }, 500);
  });
  return app;
}

/**
 * A platform's own listener (`platforms.<name>.listen`): its webhook route and nothing else, so that the
 * port a platform's servers must reach exposes none of the gateway's state or admin routes.
 */
export function createPlatformApp(api: Pick<GatewayApi, "webhook">, platform: string): Hono {
  const app = new Hono();
  app.all(`/webhooks/${platform}`, (c) => api.webhook(platform, c.req.raw));
  app.notFound((c) => c.json({ error: `this listener serves only /webhooks/${platform}` }, 404));
  return app;
}
