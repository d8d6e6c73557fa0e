/**
 * A platform manifest declares everything the rest of hermes needs to know about a platform without
 * touching its adapter: credentials and their variables, token shapes, transport, ports, limits and the
 * extra keys its config block takes. The linter, the runtime and the unit generator read only this.
 */
import * as v from "valibot";
import { bool, id, idList, listen, secret, url } from "../config/fields.ts";

export interface CredentialSpec {
  /** Key in the platform block. */
  key: string;
  /** Conventional variable that supplies it when the block does not. */
  env: string;
  /** Shown as `<redacted, N chars>` everywhere. */
  secret: boolean;
  /** Words for messages: "bot token", "app-level token (xapp-…)". */
  label: string;
  /** The expected shape, and how to say it (token-format). */
  shape?: { test: (value: string) => boolean; describe: string };
  /** A shape so particular that a value matching it can only be this credential (token-wrong-platform). */
  distinctive?: (value: string) => boolean;
  /** A public prefix that may be shown unredacted (`xoxb-`). */
  publicPrefix?: string;
  /** The value is a URL (a homeserver), validated as one. */
  isUrl?: boolean;
}

/** What `lint config --online` learnt from the platform about its credentials. */
export type OnlineVerdict =
  | { status: "valid"; identity: string }
  /** The platform refused the credentials: the message says how (never the value). */
  | { status: "rejected"; message: string }
  /** The platform could not be asked (network, timeout, 5xx): nothing is known about the credentials. */
  | { status: "unreachable"; message: string };

/** Asks the platform whether the credentials are valid, within `timeoutMs`; never throws. */
export type OnlineCheck = (input: {
  credentials: Record<string, string>;
  block: Record<string, unknown>;
  timeoutMs: number;
}) => Promise<OnlineVerdict>;

export interface PlatformManifest {
  name: string;
  title: string;
  /** Prefix of upstream's variables: `<PREFIX>_ALLOWED_USERS`, `<PREFIX>_HOME_CHANNEL`, `<PREFIX>_ALLOW_ALL_USERS`. */
  envPrefix: string;
  credentials: readonly CredentialSpec[];
  transport: {
    /** How messages arrive, in words. */
    receive: string;
    /** Receive modes; the first is the default. More than one adds a `mode` key. */
    modes: readonly [string, ...string[]];
    /** Takes its own HTTP listener (`listen`) for webhook delivery. */
    webhook: boolean;
  };
  /** Documented API base URL that `api_base` replaces. */
  apiBase?: string;
  /** The WebSocket URL does not come from the API, so `gateway_url` may replace it. */
  gatewayUrl: boolean;
  /** Port the platform's own webhook listener uses when `listen` gives none. */
  defaultPort?: number;
  /** Longest message the platform accepts; replies are split to it. */
  messageLimit: number;
  /** The gateway watchdog tears down an adapter that shows no progress for this long; null: not watched. */
  livenessMs: number | null;
  /** A chat platform (people talk to the agent through it), as opposed to the generic webhook. */
  chat: boolean;
  /** Extra keys of this platform's block. */
  options: v.ObjectEntries;
  /** `lint config --online`: loads the platform's credential check (its own folder; loaded only when asked). */
  online?: () => Promise<OnlineCheck>;
}

/** Identity helper that keeps the manifest's literal types. */
export function definePlatform<const M extends PlatformManifest>(manifest: M): M {
  return manifest;
}

/** Upstream's `home_channel: {platform, chat_id, name, thread_id}` is read as its chat id. */
const homeChannel = () =>
  v.union(
    [
      id(),
      v.pipe(
        v.looseObject({ chat_id: id() }),
        v.transform((x): string => x.chat_id),
      ),
    ],
    "a chat id",
  );

/** The schema of one platform's block: the keys every platform takes, its credentials, its own options. */
export function blockSchema(manifest: PlatformManifest) {
  const credentials: v.ObjectEntries = {};
  for (const c of manifest.credentials) {
    credentials[c.key] = v.optional(
      c.secret
        ? secret(c.env)
        : c.isUrl
          ? v.pipe(url(), v.metadata({ env: c.env }))
          : v.pipe(
              v.union([v.string(), v.pipe(v.number(), v.safeInteger())], "a string"),
              v.transform((x): string => String(x)),
              v.metadata({ env: c.env }),
            ),
    );
  }
  const [defaultMode] = manifest.transport.modes;
  const entries: v.ObjectEntries = {
    enabled: v.optional(bool()),
    ...credentials,
    allowed_users: v.optional(idList()),
    allow_all: v.optional(bool()),
    admins: v.optional(idList()),
    home_channel: v.optional(homeChannel()),
    allowed_chats: v.optional(idList()),
    require_mention: v.optional(bool(), false),
    api_base: v.optional(url()),
  };
  if (manifest.gatewayUrl) entries.gateway_url = v.optional(url());
  if (manifest.transport.modes.length > 1) {
    entries.mode = v.optional(
      v.picklist(manifest.transport.modes, `one of ${manifest.transport.modes.join(", ")}`),
      defaultMode,
    );
  }
  if (manifest.transport.webhook) entries.listen = v.optional(listen());
  Object.assign(entries, manifest.options);
  return v.strictObject(entries, "a mapping of platform settings");
}
