import type { IncomingHttpHeaders } from 'node:http';
import { context, diag } from '@opentelemetry/api';
import { assertLane, parseLane } from '@graylane/core';
import type { Context } from '@opentelemetry/api';
import { planOf } from './carriers.js';
import type { Carriers } from './carrier-value.js';
import { extractLaneWith } from './extract.js';
import { getLane, setLaneWith } from './lane.js';
import { recordInboundLane } from './span.js';
import { createLaneTrail, setLaneTrail, writeTrailHeader } from './trail.js';
import type { TrailHop, TrailResponse, TrailSocket } from './trail.js';
import { createEntryDecision } from './entry.js';
import type { EntryRules } from './entry.js';
import type { LaneTrust, LaneTrustOptions, LaneTrustSetting } from './trust.js';

/** What inbound middleware needs of a request: Node's `IncomingMessage` has it. */
export interface InboundRequest {
  readonly headers: IncomingHttpHeaders;
  readonly socket?: (TrailSocket & { readonly remoteAddress?: string | undefined }) | null;
}

/** Options of {@link createInboundLane}: the options every inbound adapter (Express, Nest) shares. */
export interface InboundLaneOptions<R extends InboundRequest = InboundRequest> {
  /** Which lane carriers to read, and under which names (`graylane.carriers`, or `createCarriers(...)`). Defaults to graylane's defaults. */
  readonly carriers?: Carriers | undefined;
  /**
   * Makes this service an entry (see docs/guides/trust-boundary.md), with the gateway's vocabulary:
   * which clients may choose their lane, `'none'` (no client), `'all'`, or trusted networks and token
   * keys as a `LaneTrust` or its options. Unset (and no `entry`): an inner hop, which runs every
   * request in the lane its carriers name.
   */
  readonly trust?: LaneTrustSetting | undefined;
  /**
   * At an entry, decides the lane of a request that brings no trusted lane (the gateway's `rules`),
   * e.g. `(req) => matcher.match(requestViewFromNode(req))`. See {@link InboundLaneOptions.laneFor}.
   */
  readonly rules?: EntryRules<R> | undefined;
  /**
   * @deprecated Use {@link InboundLaneOptions.trust}: `entry: true` is `trust: 'none'`, a `LaneTrust`
   * or its options are the same `trust`. Ignored when `trust` is set.
   */
  readonly entry?: boolean | LaneTrust | LaneTrustOptions | undefined;
  /**
   * At an entry, decides the lane of a request that brings no trusted lane: the entry's rules, e.g.
   * `(req) => matcher.match(requestViewFromNode(req))` with a matcher from `@graylane/matcher`, or
   * `graylane.rules.matcher()` from `@graylane/node`. It sees the request as the client sent it.
   * Without it, such requests run in base. Ignored by inner hops; errors it throws are logged and the
   * request runs in base.
   * @deprecated Use {@link InboundLaneOptions.rules}, the same function. Ignored when `rules` is set.
   */
  readonly laneFor?: ((req: R) => string | undefined) | undefined;
  /** Called once per request with its lane (`undefined` for base). Errors it throws are logged and ignored. */
  readonly onLane?: ((lane: string | undefined, req: R) => void) | undefined;
  /**
   * Turns the debug trail on: each response gets an `x-graylane-trail` header listing this hop
   * (`service[lane]@address`; the address defaults to the one the request arrived at) and the
   * trails of the calls made while handling it. Pass `graylane.trail` from `@graylane/node`. Off
   * by default; see docs/guides/debugging.md.
   */
  readonly trail?: TrailHop | undefined;
  /**
   * The lane of this instance; `undefined` or `base` for a base instance. Default: `trail.lane`.
   * Used by {@link InboundLaneOptions.coloring} when that is `true` or a record.
   */
  readonly lane?: string | undefined;
  /**
   * Coloring at gray nodes (OpenSergo, MSE): a request that arrives with no lane (at an entry: after
   * the entry decision, which strips carried lanes it does not trust) at an instance in a lane runs
   * in that instance's lane for the rest of its chain, recorded as `graylane.lane.colored` on the
   * span and as `*` in the trail hop (`a[gray*]`). A base instance never colors.
   *
   * `true` (default) colors with {@link InboundLaneOptions.lane}, `false` never, a record by lane
   * (`{ canary: false }`; lanes not listed color); or a function asked per unmarked request for the
   * lane to color with now (`undefined`: none), such as `graylane.coloring` of `@graylane/node`,
   * which knows this instance's lane and stops coloring while its lane object is disabled or expired.
   */
  readonly coloring?: LaneColoring | undefined;
}

/**
 * How an inbound adapter colors unmarked requests: see {@link InboundLaneOptions.coloring}. A
 * function must be cheap (it runs per unmarked request) and must not throw.
 */
export type LaneColoring = boolean | Readonly<Record<string, boolean>> | (() => string | undefined);

/**
 * The inbound half of every server adapter: a function from a request to the OpenTelemetry context
 * the rest of the request runs in. An inner hop reads the carriers (keeping a lane OpenTelemetry's
 * HTTP instrumentation already put in the context when the request carries none); an entry applies
 * its trust decision, which alone sets the lane and strips untrusted carriers from `req.headers`.
 * The lane is recorded on the active span (`graylane.lane`). With {@link
 * InboundLaneOptions.trail}, the context also holds the request's trail, which is written to
 * `res` when its head is. Never throws: a failure leaves the
 * request in the active context, with a diagnostic. Invalid options throw
 * `GRAYLANE_ERR_CONFIG_INVALID` here, at start-up.
 */
export function createInboundLane<R extends InboundRequest>(options: InboundLaneOptions<R> = {}): (req: R, res?: TrailResponse) => Context {
  const { carriers, onLane, entry = false, trail } = options;
  const plan = planOf(carriers, 'carriers');
  const trust = options.trust ?? (entry === false ? undefined : entry === true ? 'none' : entry);
  const colorLane = coloringLane(options.lane ?? trail?.lane, options.coloring ?? true);
  const decision = trust === undefined ? undefined : createEntryDecision<R>({ trust, rules: options.rules ?? options.laneFor, carriers });
  return function inboundLane(req, res) {
    const active = context.active();
    let next = active;
    try {
      if (decision !== undefined) {
        next = setLaneWith(plan, active, decision.decide(req, req.headers, req.socket?.remoteAddress).lane);
      } else {
        const lane = extractLaneWith(plan, req.headers);
        if (lane !== undefined) next = setLaneWith(plan, active, lane);
      }
      let lane = getLane(next);
      let colored = false;
      if (lane === undefined && colorLane !== undefined) {
        lane = colorLane();
        if (lane !== undefined) {
          colored = true;
          next = setLaneWith(plan, next, lane);
        }
      }
      recordInboundLane(lane, undefined, colored);
      if (trail !== undefined && res !== undefined) next = traced(next, trail, req, res, colored);
      if (onLane) onLane(lane, req);
    } catch (error) {
      diag.warn('graylane: could not settle the lane of an inbound request; it runs in the active context', error);
    }
    return next;
  };
}

/** `ctx` with a new trail for the request, written to `res` with its head. */
function traced(ctx: Context, hop: TrailHop, req: InboundRequest, res: TrailResponse, colored: boolean): Context {
  const trail = createLaneTrail(hop, req.socket, colored);
  writeTrailHeader(res, trail);
  return setLaneTrail(ctx, trail);
}

/**
 * What colors unmarked requests: `undefined` when nothing ever does (a base instance, coloring
 * off), else a function giving the lane to color with now.
 */
function coloringLane(configured: string | undefined, coloring: LaneColoring): (() => string | undefined) | undefined {
  if (typeof coloring === 'function') {
    return () => {
      const colorWith = coloring();
      return parseLane(colorWith) ?? undefined;
    };
  }
  if (coloring === false) return undefined;
  const lane = assertLane(configured, 'inbound options: `lane` (or `trail.lane`), the lane coloring colors with');
  if (lane === undefined) return undefined;
  if (coloring !== true && Object.prototype.hasOwnProperty.call(coloring, lane) && coloring[lane] === false) return undefined;
  return () => lane;
}
