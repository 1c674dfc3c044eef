// Starts a real Nacos test server per describe block: r-nacos or the Java Nacos server
// (scripts/nacos/servers.cjs builds either once if it is missing). A server that cannot be built or
// started fails the suite with the reason; nothing is skipped.
import { NACOS_SERVERS, LABELS, startNacos } from '../../../scripts/nacos/servers.cjs';
import type { NacosServerKind, NacosTestNode } from '../../../scripts/nacos/servers.cjs';
import './rnacos.js'; // the per-file failover cache folder

/** Long enough for a one-time cargo or Maven build when a server is not cached yet. */
const START_TIMEOUT_MS = 30 * 60_000;

/** Every test server, as `[label, kind]` rows for `describe.each`. */
export const nacosServers: ReadonlyArray<readonly [string, NacosServerKind]> = NACOS_SERVERS.map((kind) => [LABELS[kind], kind] as const);

/** Starts `kind` before the enclosing block's tests and stops it after them; `options` as startNacos. */
export function useNacosServer(
  kind: NacosServerKind,
  options: Omit<Parameters<typeof startNacos>[1] & object, 'log'> = {},
): { readonly node: NacosTestNode; readonly serverAddr: string } {
  let node: NacosTestNode | undefined;
  beforeAll(async () => {
    node = await startNacos(kind, { ...options, log: (line) => process.stderr.write(`[${kind}] ${line}\n`) });
  }, START_TIMEOUT_MS);
  afterAll(async () => {
    await node?.stop();
  });
  const running = (): NacosTestNode => {
    if (!node) throw new Error(`${LABELS[kind]} is not running`);
    return node;
  };
  return {
    get node() {
      return running();
    },
    get serverAddr() {
      return running().serverAddr;
    },
  };
}
