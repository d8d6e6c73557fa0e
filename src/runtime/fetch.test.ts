import { describe, expect, it } from "vitest";
import { bypassesProxy, proxyFor } from "./fetch.ts";

const https = new URL("https://api.telegram.org/bot1:x/getMe");
const http = new URL("http://127.0.0.1:8081/bot1:x/getMe");

describe("proxyFor", () => {
  it("takes HTTPS_PROXY for https, HTTP_PROXY for http, ALL_PROXY for both", () => {
    const env = { HTTPS_PROXY: "http://s:1", HTTP_PROXY: "http://p:2" };
    expect(proxyFor(https, env)).toBe("http://s:1");
    expect(proxyFor(http, env)).toBe("http://p:2");
    expect(proxyFor(https, { ALL_PROXY: "http://a:3" })).toBe("http://a:3");
    expect(proxyFor(http, { ALL_PROXY: "http://a:3" })).toBe("http://a:3");
    expect(proxyFor(https, { HTTPS_PROXY: "http://s:1", ALL_PROXY: "http://a:3" })).toBe("http://s:1");
  });

  it("reads lower-case spellings and completes a bare host:port", () => {
    expect(proxyFor(https, { https_proxy: "proxy.lan:3128" })).toBe("http://proxy.lan:3128");
    expect(proxyFor(https, { all_proxy: "socks5://s:1080" })).toBe("socks5://s:1080");
    expect(proxyFor(https, {})).toBeUndefined();
    expect(proxyFor(https, { HTTPS_PROXY: "  " })).toBeUndefined();
  });

  it("honours NO_PROXY: *, hosts, domains with or without a dot, ports, IPs", () => {
    const all = { ALL_PROXY: "http://a:3" };
    expect(proxyFor(https, { ...all, NO_PROXY: "*" })).toBeUndefined();
    expect(proxyFor(https, { ...all, NO_PROXY: "telegram.org" })).toBeUndefined();
    expect(proxyFor(https, { ...all, no_proxy: ".telegram.org" })).toBeUndefined();
    expect(proxyFor(https, { ...all, NO_PROXY: "example.com, api.telegram.org:443" })).toBeUndefined();
    expect(proxyFor(https, { ...all, NO_PROXY: "api.telegram.org:8443" })).toBe("http://a:3");
    expect(proxyFor(https, { ...all, NO_PROXY: "gram.org" })).toBe("http://a:3");
    expect(bypassesProxy(http, { NO_PROXY: "127.0.0.1" })).toBe(true);
    expect(bypassesProxy(new URL("http://[::1]:80/"), { NO_PROXY: "::1" })).toBe(true);
  });
});
