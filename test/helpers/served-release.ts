/** The loopback release tree (release.ts) as a test file's fixture: built and served once for all its tests. */
import { afterAll, beforeAll } from "vitest";
import { type ReleaseServer, type ReleaseTree, servedRelease } from "./release.ts";

export interface ServedRelease {
  readonly tree: ReleaseTree;
  readonly server: ReleaseServer;
}

/** Builds and serves the tree before the file's tests (one compile: up to 2 minutes) and removes it after them. */
export function useServedRelease(): ServedRelease {
  let served: { tree: ReleaseTree; server: ReleaseServer } | undefined;
  beforeAll(async () => {
    served = await servedRelease();
  }, 120_000);
  afterAll(async () => {
    await served?.server.close();
    served?.tree.remove();
  });
  const ready = () => {
    if (!served) throw new Error("the release tree is served from beforeAll on");
    return served;
  };
  return {
    get tree() {
      return ready().tree;
    },
    get server() {
      return ready().server;
    },
  };
}
