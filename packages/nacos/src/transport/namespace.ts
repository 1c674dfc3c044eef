import { ErrorCode, GraylaneError } from '@graylane/core';
import type { NacosServer, ResolvedOptions } from '../options.js';
import { DEFAULT_NAMESPACE } from '../options.js';
import { list, obj, str } from '../wire.js';
import { baseUrl, httpCall, jsonOf } from './http.js';

/**
 * Where a namespace list is asked for, in order: Nacos 3's admin API (the console API moved to
 * the console port there), then the console API of Nacos 1.x/2.x and r-nacos.
 */
const LIST_PATHS = ['/nacos/v3/admin/core/namespace/list', '/nacos/v1/console/namespaces'] as const;

/** A namespace as the server lists it. */
interface Listed {
  readonly id: string;
  readonly name: string;
}

/** Checks already made (or running) per client, so that naming and config ask once. */
const checks = new WeakMap<ResolvedOptions, Promise<void>>();

/**
 * Resolves when the client's namespace exists on `server`, or when that cannot be found out (the
 * list is not served, or this user may not read it: a warning, once); rejects with
 * `CONFIG_INVALID` (`details.path: 'namespace'`) when the server lists its namespaces and this
 * one is not among them. `public` always exists and is not asked about. A check that succeeded is
 * not made again for the same client; one that failed is made again on the next connection.
 */
export function checkNamespace(options: ResolvedOptions, server: NacosServer, token: string | undefined): Promise<void> {
  if (options.namespace === DEFAULT_NAMESPACE) return Promise.resolve();
  let check = checks.get(options);
  if (!check) {
    check = runCheck(options, server, token);
    checks.set(options, check);
    check.catch(() => checks.delete(options));
  }
  return check;
}

async function runCheck(options: ResolvedOptions, server: NacosServer, token: string | undefined): Promise<void> {
  const namespace = options.namespace;
  const unanswered: string[] = [];
  for (const path of LIST_PATHS) {
    const url = `${baseUrl(server, options.tls)}${path}${token ? `?accessToken=${encodeURIComponent(token)}` : ''}`;
    let listed: Listed[] | undefined;
    try {
      const answer = await httpCall(url, { headers: token ? { accessToken: token } : {}, tls: options.tls, timeoutMs: options.timeoutMs });
      listed = answer.ok ? namespacesOf(answer.text) : undefined;
      if (!listed) unanswered.push(`${path}: HTTP ${answer.status}`);
    } catch (error) {
      unanswered.push(`${path}: ${(error as Error).message}`);
    }
    if (!listed) continue;
    if (listed.some((entry) => entry.id === namespace)) return;
    const named = listed.find((entry) => entry.name === namespace);
    const hint = named
      ? `; "${namespace}" is the name of the namespace whose id is "${named.id}": set the id`
      : '; create it on the server, or fix the namespace option (NACOS_NAMESPACE), which takes a namespace id';
    throw new GraylaneError(
      ErrorCode.CONFIG_INVALID,
      `Nacos namespace "${namespace}" does not exist on ${address(server)} (its namespaces: ${listed.map((entry) => entry.id).join(', ')})${hint}`,
      { details: { path: 'namespace', namespace, server: address(server), namespaces: listed.map((entry) => entry.id) } },
    );
  }
  options.logger.warn(
    `graylane: cannot check that Nacos namespace "${namespace}" exists on ${address(server)} (${unanswered.join('; ')}); going on without the check`,
  );
}

/** The namespaces of a list answer (`{code, data: [{namespace, namespaceShowName}]}`), or `undefined` when it is not one. */
function namespacesOf(text: string): Listed[] | undefined {
  const data = jsonOf(text)['data'];
  if (!Array.isArray(data)) return undefined;
  // Nacos 1.x/2.x and r-nacos list the public namespace with id ''.
  return list(data).map((raw) => {
    const entry = obj(raw);
    return { id: str(entry['namespace']) || DEFAULT_NAMESPACE, name: str(entry['namespaceShowName']) };
  });
}

const address = (server: NacosServer) => `${server.host}:${server.httpPort}`;
