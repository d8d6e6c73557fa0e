import { describe, expect, it } from "vitest";
import { createApp, type GatewayApi } from "./app.ts";

function fakeApi(
  overrides: Partial<GatewayApi> = {},
): GatewayApi & { sent: [string, string][]; admin_: string[] } {
  const sent: [string, string][] = [];
  const admin_: string[] = [];
  return {
    sent,
    admin_,
    status: () => ({ state: "running" }),
    readiness: () => ({ ready: true, state: "running" }),
    metrics: () => "hermes_up 1\n",
    send: async (target, text) => {
      sent.push([target, text]);
      return { ok: true, id: "id-1" };
    },
    webhook: async () => new Response("hooked", { status: 202 }),
    admin: (action) => {
      admin_.push(action);
      return { accepted: true, state: "running" };
    },
    ...overrides,
  };
}

const json = (body: unknown, headers: Record<string, string> = {}) => ({
  method: "POST",
  body: JSON.stringify(body),
  headers: { "content-type": "application/json", host: "127.0.0.1:8642", ...headers },
});

describe("the HTTP app", () => {
  it("health and readiness need no auth; readiness answers 503 when not ready", async () => {
    const app = createApp({
      api: fakeApi({ readiness: () => ({ ready: false, state: "draining" }) }),
      authToken: "t0ken-value",
    });
    expect((await app.request("/healthz", { headers: { host: "example.org" } })).status).toBe(200);
    const ready = await app.request("/readyz", { headers: { host: "example.org" } });
    expect(ready.status).toBe(503);
    expect(await ready.json()).toEqual({ ready: false, state: "draining" });
  });

  it("without a token, status, metrics and send answer only loopback Host names", async () => {
    const app = createApp({ api: fakeApi() });
    for (const host of ["127.0.0.1:8642", "localhost", "[::1]:8642", "bot.localhost"]) {
      expect((await app.request("/status", { headers: { host } })).status, host).toBe(200);
    }
    for (const host of ["evil.example", "10.0.0.5:8642", ""]) {
      expect((await app.request("/status", { headers: { host } })).status, host).toBe(403);
      expect((await app.request("/v1/send", json({ target: "a", text: "b" }, { host }))).status, host).toBe(
        403,
      );
    }
    expect(
      (await app.request("/metrics", { headers: { host: "localhost" } })).headers.get("content-type"),
    ).toContain("text/plain");
  });

  it("with a token, every route but health and webhooks needs it as a bearer token", async () => {
    const app = createApp({ api: fakeApi(), authToken: "s3cret-token-value" });
    expect((await app.request("/status", { headers: { host: "localhost" } })).status).toBe(401);
    expect((await app.request("/status", { headers: { authorization: "Bearer wrong" } })).status).toBe(401);
    expect(
      (
        await app.request("/status", {
          headers: { authorization: "Bearer s3cret-token-value", host: "anything" },
        })
      ).status,
    ).toBe(200);
    expect((await app.request("/webhooks/webhook", { method: "POST", body: "x" })).status).toBe(202);
  });

  it("POST /v1/send takes JSON {target, text} and answers 202 {id}", async () => {
    const api = fakeApi();
    const app = createApp({ api });
    const ok = await app.request("/v1/send", json({ target: "webhook:c1", text: "hello" }));
    expect(ok.status).toBe(202);
    expect(await ok.json()).toEqual({ id: "id-1" });
    expect(api.sent).toEqual([["webhook:c1", "hello"]]);
    expect(
      (
        await app.request("/v1/send", {
          ...json({ target: "x", text: "y" }),
          headers: { host: "localhost", "content-type": "text/plain" },
        })
      ).status,
    ).toBe(415);
    expect((await app.request("/v1/send", json({ target: "x" }))).status).toBe(400);
    expect((await app.request("/v1/send", { ...json({}), body: "{not json" })).status).toBe(400);
    const refused = createApp({
      api: fakeApi({ send: async () => ({ ok: false, status: 409, error: "platform x is not enabled" }) }),
    });
    const r = await refused.request("/v1/send", json({ target: "x", text: "y" }));
    expect(r.status).toBe(409);
    expect(await r.json()).toEqual({ error: "platform x is not enabled" });
  });

  it("POST /v1/send takes an optional stable id and failure targets (cron serve forwards results so)", async () => {
    const calls: unknown[] = [];
    const app = createApp({
      api: fakeApi({
        send: async (target, text, options) => {
          calls.push([target, text, options]);
          return { ok: true, id: options?.id ?? "random" };
        },
      }),
    });
    const r = await app.request(
      "/v1/send",
      json({
        target: "webhook:ops",
        text: "r",
        id: "cron:j:2026-05-01T10:00:00.000Z:0",
        failure_targets: ["probe:a"],
      }),
    );
    expect(r.status).toBe(202);
    expect(await r.json()).toEqual({ id: "cron:j:2026-05-01T10:00:00.000Z:0" });
    expect(calls).toEqual([
      ["webhook:ops", "r", { id: "cron:j:2026-05-01T10:00:00.000Z:0", failureTargets: ["probe:a"] }],
    ]);
    for (const bad of [{ id: 7 }, { id: "" }, { failure_targets: "probe" }, { failure_targets: [1] }]) {
      const res = await app.request("/v1/send", json({ target: "webhook:ops", text: "r", ...bad }));
      expect(res.status, JSON.stringify(bad)).toBe(400);
    }
    expect(calls).toHaveLength(1);
  });

  it("POST /v1/send takes a batch {messages: [...]}: each sent in order, without waiting in between, one result each", async () => {
    const calls: string[] = [];
    let release!: () => void;
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    const app = createApp({
      api: fakeApi({
        send: async (target, text, options) => {
          calls.push(`${target} ${text}`);
          if (target === "off:c") return { ok: false, status: 409, error: "platform off is not enabled" };
          // Every message is handed over before any is durable: the outbox writes them together.
          await held;
          return { ok: true, id: options?.id ?? "random" };
        },
      }),
    });
    const answer = app.request(
      "/v1/send",
      json({
        messages: [
          { target: "webhook:ops", text: "one", id: "cron:j:s:0", failure_targets: ["webhook:admins"] },
          { target: "off:c", text: "two" },
          { target: "webhook:ops", text: "" },
          { target: "webhook:ops", text: "three", id: "cron:j:s:1" },
        ],
      }),
    );
    await new Promise((r) => setTimeout(r, 20));
    expect(calls).toEqual(["webhook:ops one", "off:c two", "webhook:ops three"]);
    release();
    const r = await answer;
    expect(r.status).toBe(200);
    expect(await r.json()).toEqual({
      results: [
        { status: 202, id: "cron:j:s:0" },
        { status: 409, error: "platform off is not enabled" },
        { status: 400, error: 'expected {"target": "platform" or "platform:chat_id", "text": "…"}' },
        { status: 202, id: "cron:j:s:1" },
      ],
    });
    for (const messages of [[], "x", Array.from({ length: 1001 }, () => ({ target: "a", text: "b" }))])
      expect((await app.request("/v1/send", json({ messages }))).status).toBe(400);
  });

  it("the scheduler's routes exist only on the control socket: GET /admin/cron, POST /admin/cron/run", async () => {
    const runs: string[] = [];
    const api = fakeApi({
      cronView: () => ({ holder: null, alive: false, last_tick_at: null, jobs: [] }),
      cronRun: async (id) => {
        runs.push(id);
        return id === "known"
          ? { status: 200, body: { id, status: "ok" } }
          : { status: 404, body: { error: "no job" } };
      },
    });
    expect((await createApp({ api }).request("/admin/cron", { headers: { host: "localhost" } })).status).toBe(
      404,
    );
    const control = createApp({ api, control: true });
    expect(await (await control.request("/admin/cron")).json()).toEqual({
      holder: null,
      alive: false,
      last_tick_at: null,
      jobs: [],
    });
    const ok = await control.request("/admin/cron/run", json({ id: "known" }));
    expect([ok.status, await ok.json()]).toEqual([200, { id: "known", status: "ok" }]);
    expect((await control.request("/admin/cron/run", json({ id: "other" }))).status).toBe(404);
    expect((await control.request("/admin/cron/run", json({}))).status).toBe(400);
    expect(runs).toEqual(["known", "other"]);
  });

  it("admin routes exist only on the control socket", async () => {
    const api = fakeApi();
    expect(
      (await createApp({ api }).request("/admin/restart", { method: "POST", headers: { host: "localhost" } }))
        .status,
    ).toBe(404);
    const control = createApp({ api, control: true });
    const r = await control.request("/admin/restart", { method: "POST" });
    expect(r.status).toBe(202);
    expect(api.admin_).toEqual(["restart"]);
    expect((await control.request("/status")).status).toBe(200);
  });
});
