import type { Hop } from './trail.js';

/** A hop with the lane it should have served and whether it did. */
export interface CheckedHop extends Hop {
  readonly expected: string;
  readonly ok: boolean;
  /** `lane`, `fallback` (the lane has no instance of this service: base expected), or `base` (an unmarked request). */
  readonly why: 'lane' | 'fallback' | 'base';
}

/** What a lane-marked request should do. */
export interface LaneExpectation {
  /** The lane. */
  readonly lane: string;
  /** The services that have an instance in the lane: they serve it; every other hop serves base (fallback). */
  readonly laneServices: readonly string[];
}

/**
 * Checks each hop of a lane-marked request: in `lane` where the lane has an instance of its
 * service, in base elsewhere (the fallback). Service names compare case-insensitively.
 */
export function checkLaneHops(hops: readonly Hop[], expectation: LaneExpectation): CheckedHop[] {
  const inLane = new Set(expectation.laneServices.map((service) => service.toLowerCase()));
  return hops.map((hop) => {
    const has = inLane.has(hop.service.toLowerCase());
    const expected = has ? expectation.lane : 'base';
    return { ...hop, expected, ok: hop.lane === expected, why: has ? 'lane' : 'fallback' };
  });
}

/** Checks that an unmarked request touched no instance outside base (no leak of unmarked traffic). */
export function checkUnmarkedHops(hops: readonly Hop[]): CheckedHop[] {
  return hops.map((hop) => ({ ...hop, expected: 'base', ok: hop.lane === 'base', why: 'base' }));
}

/** Carrier headers as a hop received them (names in any case). */
export type ReceivedHeaders = Readonly<Record<string, string | readonly string[] | undefined>>;

/** One carrier check at the last hop. */
export interface CarrierFinding {
  readonly carrier: string;
  readonly value: string | undefined;
  readonly ok: boolean;
}

/**
 * Checks the carriers the last hop received for `lane`: `x-mse-tag` equal to it, and, when a
 * `baggage` header arrived, a `lane` entry equal to it. `carriers` names the ones that must be
 * present; default `['x-mse-tag']`.
 */
export function checkCarriers(headers: ReceivedHeaders, lane: string, carriers: readonly string[] = ['x-mse-tag']): CarrierFinding[] {
  const lower = new Map(Object.entries(headers).map(([name, value]) => [name.toLowerCase(), Array.isArray(value) ? value.join(',') : (value as string | undefined)]));
  const findings: CarrierFinding[] = [];
  for (const carrier of carriers) {
    const value = lower.get(carrier.toLowerCase());
    if (carrier.toLowerCase() === 'baggage') {
      const entry = value
        ?.split(',')
        .map((member) => member.split(';')[0]!.trim().split('='))
        .find(([key]) => key?.trim() === 'lane');
      findings.push({ carrier, value, ok: entry !== undefined && decodeURIComponent(entry[1] ?? '').trim() === lane });
    } else {
      findings.push({ carrier, value, ok: value?.trim() === lane });
    }
  }
  return findings;
}
