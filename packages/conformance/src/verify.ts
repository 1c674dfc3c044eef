import { checkLaneHops, checkUnmarkedHops } from './check.js';
import type { CheckedHop } from './check.js';
import { parseTrail } from './trail.js';

/** The debug trail header (`WireNames.TRAIL_HEADER`; a copy, as this package depends on nothing: test/repo/wire-names.test.ts keeps it equal). */
export const TRAIL_HEADER = 'x-graylane-trail';

/** Options of {@link verifyLane}. */
export interface VerifyLaneOptions {
  /** The lane. */
  readonly lane: string;
  /** The entry's base URL, e.g. `http://127.0.0.1:8080`. */
  readonly entry: string;
  /**
   * The path of the lane-marked request, with the query that colors it (`/a?group=gray`). Without
   * it, `/` is sent with the lane's tag in `x-mse-tag`.
   */
  readonly path?: string | undefined;
  /** Headers of the marked request; default none with `path`, else `{ 'x-mse-tag': lane }`. */
  readonly headers?: Readonly<Record<string, string>> | undefined;
  /** Path of the unmarked request; default `path` without its query string. */
  readonly unmarkedPath?: string | undefined;
  /** Services that have an instance in the lane (they serve it; every other hop serves base). */
  readonly laneServices: readonly string[];
  /** Services that must appear in the chain (`--expect`); default none. */
  readonly expectServices?: readonly string[] | undefined;
  /** Per request. Default 5000 ms. */
  readonly timeoutMs?: number | undefined;
}

/** One request of a verification. */
export interface VerifiedRequest {
  readonly url: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly status: number | undefined;
  readonly trail: string | undefined;
  readonly hops: readonly CheckedHop[];
  /** Why this request failed the check; empty when it passed. */
  readonly problems: readonly string[];
}

/** What {@link verifyLane} found. */
export interface LaneVerification {
  readonly lane: string;
  readonly passed: boolean;
  readonly marked: VerifiedRequest;
  readonly unmarked: VerifiedRequest;
}

/**
 * Sends a lane-marked and an unmarked request through `entry` and checks their debug trails:
 * each hop of the marked one served the lane where the lane has an instance and base elsewhere,
 * and the unmarked one touched no instance outside base. The entry and every hop must have the
 * trail on (docs/guides/debugging.md). Never throws for a failed check: read `passed`.
 */
export async function verifyLane(options: VerifyLaneOptions): Promise<LaneVerification> {
  const path = options.path ?? '/';
  const markedHeaders = options.headers ?? (options.path ? {} : { 'x-mse-tag': options.lane });
  const unmarkedPath = options.unmarkedPath ?? path.split('?')[0]!;
  const timeoutMs = options.timeoutMs ?? 5000;
  const marked = await probe(new URL(path, options.entry).toString(), markedHeaders, timeoutMs, (hops) => checkLaneHops(hops, options));
  const unmarked = await probe(new URL(unmarkedPath, options.entry).toString(), {}, timeoutMs, checkUnmarkedHops);
  const expected = options.expectServices ?? [];
  const seen = new Set(marked.hops.map((hop) => hop.service.toLowerCase()));
  const missing = expected.filter((service) => !seen.has(service.toLowerCase()));
  const markedResult = missing.length > 0 ? { ...marked, problems: [...marked.problems, `the chain did not reach ${missing.join(', ')}`] } : marked;
  return { lane: options.lane, passed: markedResult.problems.length === 0 && unmarked.problems.length === 0, marked: markedResult, unmarked };
}

async function probe(url: string, headers: Readonly<Record<string, string>>, timeoutMs: number, check: (hops: ReturnType<typeof parseTrail>) => CheckedHop[]): Promise<VerifiedRequest> {
  let status: number | undefined;
  let trail: string | undefined;
  try {
    const response = await fetch(url, { headers, signal: AbortSignal.timeout(timeoutMs) });
    status = response.status;
    trail = response.headers.get(TRAIL_HEADER) ?? undefined;
    await response.arrayBuffer();
  } catch (error) {
    return { url, headers, status, trail, hops: [], problems: [`${url}: ${(error as Error).message}`] };
  }
  const problems: string[] = [];
  if (status < 200 || status >= 300) problems.push(`${url} answered ${status}`);
  if (trail === undefined) return { url, headers, status, trail, hops: [], problems: [...problems, `no ${TRAIL_HEADER} header: turn the debug trail on at the entry and every hop`] };
  let hops: CheckedHop[];
  try {
    hops = check(parseTrail(trail));
  } catch (error) {
    return { url, headers, status, trail, hops: [], problems: [...problems, (error as Error).message] };
  }
  for (const hop of hops) {
    if (!hop.ok) problems.push(`${hop.service}${hop.address ? `@${hop.address}` : ''} served ${hop.lane}, expected ${hop.expected}${hop.why === 'fallback' ? ' (the lane has no instance of it: fallback to base)' : ''}`);
  }
  return { url, headers, status, trail, hops, problems };
}

/** The chain of one request, hop per line: `  ok  a[gray]@127.0.0.1:4001 (expected gray)`. */
export function formatChain(request: VerifiedRequest): string[] {
  return request.hops.map((hop) => `  ${hop.ok ? 'ok  ' : 'FAIL'} ${hop.service}[${hop.lane}]${hop.address ? `@${hop.address}` : ''} (expected ${hop.expected}${hop.why === 'fallback' ? ', fallback' : ''})`);
}

/** A JUnit XML report of a verification: one test case per hop of each request. */
export function toJUnit(result: LaneVerification): string {
  const cases: string[] = [];
  let failures = 0;
  for (const [name, request] of [['marked', result.marked], ['unmarked', result.unmarked]] as const) {
    if (request.hops.length === 0) {
      failures++;
      cases.push(`    <testcase classname="graylane.lane.${xml(result.lane)}.${name}" name="request"><failure message="${xml(request.problems.join('; '))}"/></testcase>`);
    }
    request.hops.forEach((hop, i) => {
      const title = `${i}: ${hop.service} serves ${hop.expected}`;
      if (hop.ok) cases.push(`    <testcase classname="graylane.lane.${xml(result.lane)}.${name}" name="${xml(title)}"/>`);
      else {
        failures++;
        cases.push(`    <testcase classname="graylane.lane.${xml(result.lane)}.${name}" name="${xml(title)}"><failure message="${xml(`served ${hop.lane}`)}"/></testcase>`);
      }
    });
    for (const problem of request.problems.filter((p) => p.startsWith('the chain did not reach'))) {
      failures++;
      cases.push(`    <testcase classname="graylane.lane.${xml(result.lane)}.${name}" name="expected services"><failure message="${xml(problem)}"/></testcase>`);
    }
  }
  return `<?xml version="1.0" encoding="UTF-8"?>\n<testsuites>\n  <testsuite name="graylane lane verify ${xml(result.lane)}" tests="${cases.length}" failures="${failures}">\n${cases.join('\n')}\n  </testsuite>\n</testsuites>\n`;
}

function xml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}
