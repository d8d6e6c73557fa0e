import { describe, expect, it } from "vitest";
import {
  AF_UNIX,
  MSG_DONTWAIT,
  notifySocketWith,
  SOCK_CLOEXEC,
  SOCK_DGRAM,
  type SocketCalls,
  sockaddrUn,
} from "./libc.ts";

const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

describe("sockaddrUn", () => {
  it("a path: family AF_UNIX (host order), the path, its terminating NUL counted in the length", () => {
    const { bytes, length } = sockaddrUn("/run/systemd/notify");
    expect(new DataView(bytes.buffer).getUint16(0, true)).toBe(AF_UNIX);
    expect(length).toBe(2 + "/run/systemd/notify".length + 1);
    expect(decode(bytes.subarray(2, length - 1))).toBe("/run/systemd/notify");
    expect(bytes[length - 1]).toBe(0);
    expect(bytes.length).toBe(110);
  });

  it("@name: a leading NUL, no trailing one", () => {
    const { bytes, length } = sockaddrUn("@/org/freedesktop/systemd1/notify/123");
    expect(bytes[2]).toBe(0);
    expect(length).toBe(2 + 1 + "/org/freedesktop/systemd1/notify/123".length);
    expect(decode(bytes.subarray(3, length))).toBe("/org/freedesktop/systemd1/notify/123");
  });

  it("counts bytes, not characters", () => {
    expect(sockaddrUn("/tmp/é").length).toBe(2 + "/tmp/".length + 2 + 1);
  });

  it("accepts 107 bytes and refuses 108, naming the value", () => {
    expect(sockaddrUn(`/${"a".repeat(106)}`).length).toBe(110);
    expect(sockaddrUn(`@${"a".repeat(107)}`).length).toBe(110);
    expect(() => sockaddrUn(`/${"a".repeat(107)}`)).toThrow(/is 108 bytes long; .* at most 107/);
    expect(() => sockaddrUn(`@${"a".repeat(108)}`)).toThrow(/at most 107/);
  });

  it("refuses a relative path, an empty value, a bare @ and other schemes", () => {
    expect(() => sockaddrUn("run/notify")).toThrow("NOTIFY_SOCKET=run/notify is neither an absolute path");
    expect(() => sockaddrUn("")).toThrow(RangeError);
    expect(() => sockaddrUn("@")).toThrow("names no abstract socket");
    expect(() => sockaddrUn("vsock:2:1234")).toThrow(RangeError);
  });
});

if (process.platform !== "linux")
  console.log(`skipping notifySocketWith: sd_notify sockets are Linux only (${process.platform})`);
describe.runIf(process.platform === "linux")("notifySocketWith", () => {
  function fakeCalls(overrides: Partial<SocketCalls> = {}) {
    const sent: { fd: number; text: string; flags: number; length: number; family: number }[] = [];
    let closed = 0;
    const calls: SocketCalls = {
      socket: (domain, type) => (domain === AF_UNIX && type === (SOCK_DGRAM | SOCK_CLOEXEC) ? 7 : -1),
      sendto: (fd, data, flags, address, length) => {
        sent.push({
          fd,
          text: decode(data),
          flags,
          length,
          family: new DataView(address.buffer).getUint16(0, true),
        });
        return data.length;
      },
      close: () => ++closed,
      errno: () => 111,
      ...overrides,
    };
    return { calls, sent, closed: () => closed };
  }

  it("opens one close-on-exec datagram socket and sends without waiting", () => {
    const fake = fakeCalls();
    const socket = notifySocketWith(fake.calls, "/run/notify");
    socket.send("READY=1");
    socket.send("WATCHDOG=1");
    expect(fake.sent.map((s) => s.text)).toEqual(["READY=1", "WATCHDOG=1"]);
    expect(fake.sent.every((s) => s.fd === 7 && s.family === AF_UNIX && s.length === 14)).toBe(true);
    expect(fake.sent[0]!.flags & MSG_DONTWAIT).toBe(MSG_DONTWAIT);
    socket.close();
    socket.close();
    expect(fake.closed()).toBe(1);
    expect(() => socket.send("x")).toThrow("closed");
  });

  it("a refused send throws with the errno named; a failed socket() too", () => {
    const refusing = fakeCalls({ sendto: () => -1 });
    expect(() => notifySocketWith(refusing.calls, "@gone").send("READY=1")).toThrow(
      "sending to @gone failed: errno 111 (ECONNREFUSED)",
    );
    const noSocket = fakeCalls({ socket: () => -1, errno: () => 97 });
    expect(() => notifySocketWith(noSocket.calls, "/run/notify")).toThrow("errno 97 (EAFNOSUPPORT)");
  });
});
