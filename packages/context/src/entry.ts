import { diag } from '@opentelemetry/api';
import { planOf } from './carriers.js';
import type { Carriers } from './carrier-value.js';
import { injectLaneWith } from './inject.js';
import { stripLaneCarriersWith } from './strip.js';
import { laneTrustFrom } from './trust.js';
import type { LaneTrustSetting } from './trust.js';

/**
 * What an entry's lane rests on: a signed lane token, the carriers of a trusted client, the entry's
 * rules, or nothing (base).
 */
export type LaneDecidedBy = 'token' | 'carrier' | 'rule' | 'none';

/** The lane an entry decided for a request, and why; made by {@link EntryDecision.decide}. */
export interface EntryLane {
  /** The request's lane; `undefined` for base. */
  readonly lane: string | undefined;
  readonly decidedBy: LaneDecidedBy;
}

/** The entry's rules: the lane of a request that brings no trusted lane, seen as the client sent it. */
export type EntryRules<R> = (req: R) => string | undefined;

/** Options of {@link createEntryDecision}. */
export interface EntryDecisionOptions<R> {
  /** Which clients may choose their lane; default `'none'`. See docs/guides/trust-boundary.md. */
  readonly trust?: LaneTrustSetting;
  /** The entry's rules; without them, a request that brings no trusted lane runs in base. */
  readonly rules?: EntryRules<R> | undefined;
  /** The lane carriers to read, strip and write. Default: graylane's defaults. */
  readonly carriers?: Carriers | undefined;
}

/** The one lane decision of an entry, shared by the gateway and an entry service's middleware. */
export interface EntryDecision<R> {
  /**
   * Decides the lane of `req`, received from `remoteAddress`: a valid lane token, else the carriers
   * of a trusted client, else the rules (which see `req` as the client sent it; a rule that throws
   * is logged and gives base), else base. Then makes `headers` (`req`'s own, or the copy an entry
   * forwards) carry only what was decided: the token header and untrusted carriers are removed, and
   * with `write`, the carriers are replaced by the decided lane. Never throws.
   */
  decide(req: R, headers: Record<string, string | string[] | undefined>, remoteAddress: string | undefined, write?: boolean): EntryLane;
  /** Replaces the rules, e.g. when they change at run time. */
  setRules(rules: EntryRules<R> | undefined): void;
}

/**
 * The entry decision for `options`. Throws `GRAYLANE_ERR_CONFIG_INVALID` for an invalid `trust` or
 * `carriers`, at start-up.
 */
export function createEntryDecision<R>(options: EntryDecisionOptions<R> = {}): EntryDecision<R> {
  const { carriers } = options;
  const plan = planOf(carriers, 'entry.carriers');
  const trust = laneTrustFrom(options.trust ?? 'none', { carriers });
  let rules = options.rules;
  return {
    decide(req, headers, remoteAddress, write = false) {
      // Rules see the request as the client sent it, before untrusted carriers are stripped.
      const ruled = rules === undefined ? undefined : ruledLane(rules, req);
      const admitted = trust.admit(headers, remoteAddress);
      const decided: EntryLane =
        admitted.lane !== undefined
          ? { lane: admitted.lane, decidedBy: admitted.trusted === 'token' ? 'token' : 'carrier' }
          : ruled !== undefined
            ? { lane: ruled, decidedBy: 'rule' }
            : NONE;
      if (write) {
        // A trusted client's carriers were kept by the trust boundary: the decided lane replaces them.
        if (admitted.trusted === 'network') stripLaneCarriersWith(plan, headers);
        injectLaneWith(plan, headers, decided.lane);
      }
      return decided;
    },
    setRules(next) {
      rules = next;
    },
  };
}

const NONE: EntryLane = { lane: undefined, decidedBy: 'none' };

/** The lane the entry's rules give `req`; `undefined` (base) when they throw. */
function ruledLane<R>(rules: EntryRules<R>, req: R): string | undefined {
  try {
    return rules(req);
  } catch (error) {
    diag.warn("graylane: the entry's rules threw; the request runs in base", error);
    return undefined;
  }
}
