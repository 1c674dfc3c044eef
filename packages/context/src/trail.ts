import { createContextKey, context } from '@opentelemetry/api';
import type { Context } from '@opentelemetry/api';
import { WireNames, laneLabel } from '@graylane/core';

/**
 * The debug trail response header: the hops a request went through, each with the lane it served,
 * e.g. `gateway[base]@127.0.0.1:8080 > a[gray]@127.0.0.1:4001 > b[base]@127.0.0.1:4002`. Off by
 * default; a hop writes it only when given a {@link TrailHop} (see docs/guides/debugging.md).
 *
 * Grammar (a downstream that called several services lists them in parentheses, in the order
 * their responses arrived):
 * ```
 * trail = hop [ " > " next ]
 * next  = trail / "(" trail *( ", " trail ) ")"
 * hop   = service "[" lane [ "*" ] "]" [ "@" address ]   ; "*": the request was colored here
 * ```
 */
export const TRAIL_HEADER = WireNames.TRAIL_HEADER;

/**
 * The longest trail header a hop writes, in characters. A longer trail is cut and ends with `...`
 * (ASCII: a header value is Latin-1, so `…` cannot be sent).
 */
export const MAX_TRAIL_LENGTH = 2048;

/** One hop of the trail: this process. */
export interface TrailHop {
  /** The service name. */
  readonly service: string;
  /** The lane this process serves; `undefined` or `base` for base. */
  readonly lane?: string | undefined;
  /** Where it was reached, `host:port`. Default (inbound middleware): the local address of the request's socket. */
  readonly address?: string | undefined;
}

/**
 * The trail of one request at one hop: the hop itself and the trails its callees answered with.
 * Inbound middleware puts one in the context of each request (see {@link getLaneTrail}); outbound
 * adapters {@link LaneTrail.add | add} to it the trail header of every response they receive.
 */
export interface LaneTrail {
  /**
   * Adds a callee's trail, as read from its response's {@link TRAIL_HEADER}. Values are untrusted:
   * anything but printable ASCII is dropped, and once the trail is full further ones are ignored.
   * `undefined` (a callee that wrote none) is ignored.
   */
  add(downstream: string | readonly string[] | undefined): void;
  /** The header value: this hop, then its callees' trails, at most {@link MAX_TRAIL_LENGTH} characters. */
  toString(): string;
}

const TRAIL_KEY = createContextKey('graylane.trail');
const TRUNCATED = '...';
/** Printable ASCII: all a trail may carry. Excludes control characters, so no header injection. */
const UNPRINTABLE = /[^\x20-\x7e]+/g;

/** The socket a request arrived on, as far as the trail reads it; Node's `Socket` has it. */
export interface TrailSocket {
  readonly localAddress?: string | undefined;
  readonly localPort?: number | undefined;
}

/**
 * A new trail whose own hop is `hop`, at `hop.address` or else at the local address of `socket`,
 * the one the request arrived on. `colored`: the request arrived with no lane and was colored with
 * the hop's lane (written `a[gray*]`).
 */
export function createLaneTrail(hop: TrailHop, socket?: TrailSocket | null, colored = false): LaneTrail {
  const at = hop.address ?? localAddress(socket);
  const self = clean(`${hop.service}[${laneLabel(hop.lane)}${colored ? '*' : ''}]${at ? `@${at}` : ''}`);
  const downstream: string[] = [];
  // An upper bound of the rendered length (`self > (t1, t2)`): once past the limit, callees' trails
  // would only be cut off again, so they are not kept.
  let length = self.length + ' > ()'.length;
  return {
    add(value) {
      if (value === undefined || length > MAX_TRAIL_LENGTH) return;
      const trail = clean(typeof value === 'string' ? value : value.join(', '));
      if (trail === '') return;
      downstream.push(trail);
      length += trail.length + ', '.length;
    },
    toString() {
      const next = downstream.length <= 1 ? downstream.join('') : `(${downstream.join(', ')})`;
      const trail = next === '' ? self : `${self} > ${next}`;
      return trail.length <= MAX_TRAIL_LENGTH ? trail : trail.slice(0, MAX_TRAIL_LENGTH - TRUNCATED.length) + TRUNCATED;
    },
  };
}

/** The trail collected for the request of `ctx` (default: the active context), if the trail is on. */
export function getLaneTrail(ctx: Context = context.active()): LaneTrail | undefined {
  return ctx.getValue(TRAIL_KEY) as LaneTrail | undefined;
}

/** `ctx` with `trail` as the request's trail. */
export function setLaneTrail(ctx: Context, trail: LaneTrail): Context {
  return ctx.setValue(TRAIL_KEY, trail);
}

/** What {@link writeTrailHeader} needs of a response: Node's `ServerResponse` has it. */
export interface TrailResponse {
  readonly headersSent: boolean;
  setHeader(name: string, value: string): unknown;
  writeHead(...args: never[]): unknown;
}

/**
 * Makes `res` send `trail` as its {@link TRAIL_HEADER}, as it stands when the response head is
 * written: explicitly (`writeHead`, as Fastify does) or implicitly, by the first `write`/`end`
 * (Express's `send`), which calls `writeHead` too. Patches this one response only. A trail that
 * cannot be written is left out: the response is never failed for it.
 */
export function writeTrailHeader(res: TrailResponse, trail: LaneTrail): void {
  const writeHead = res.writeHead;
  res.writeHead = function writeHeadWithTrail(this: TrailResponse, ...args: never[]) {
    try {
      if (!this.headersSent) this.setHeader(TRAIL_HEADER, trail.toString());
    } catch {
      // A response whose headers Node refuses to change still gets its head written.
    }
    return writeHead.apply(this, args);
  };
}

/** `host:port` of a socket's local end, IPv6 in brackets, IPv4-mapped addresses as IPv4. */
function localAddress(socket: TrailSocket | null | undefined): string | undefined {
  const host = socket?.localAddress?.replace(/^::ffff:/, '');
  if (!host || socket?.localPort === undefined) return undefined;
  return `${host.includes(':') ? `[${host}]` : host}:${socket.localPort}`;
}

function clean(value: string): string {
  return value.replace(UNPRINTABLE, '').trim();
}
