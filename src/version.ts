/** The release version, printed by `hermes --version` (kept equal to package.json by a test). */
export const VERSION = "0.1.0";

/**
 * The release site `hermes self-update` reads (latest.txt, <version>/SHA256SUMS, …), baked in by
 * `npm run release -- --base-url URL`; a build that is not a release has none and needs HERMES_INSTALL_BASE_URL.
 */
export const RELEASE_BASE_URL: string | undefined = undefined;
