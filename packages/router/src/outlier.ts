import type { Instance } from '@graylane/core';
import type { LanePool } from './lane-index.js';
import type { OutlierSettings } from './policy.js';

/** What the router remembers of one listed instance that callers could not connect to. */
interface OutlierRecord {
  /** Connect failures in a row (reset by a success, a gap over `windowMs`, or an ejection). */
  failures: number;
  /** When the last of them was reported. */
  lastFailureAt: number;
  /** How many times it was ejected since its ejections last started over. */
  ejections: number;
  /** When its last ejection ends (or ended); 0 when it was never ejected. */
  ejectedUntil: number;
}

/**
 * The outlier state of one service: a record per listed instance that failed, and the ids ejected
 * now. Bounded: records exist only for listed instances ({@link OutlierTracker.retain} drops the
 * others at every list change) and are dropped once they have nothing left to remember.
 */
export class OutlierTracker {
  /** Ids ejected now: the router's lane index leaves them out of the usable instances. */
  readonly ejected = new Set<string>();
  /** When the earliest ejection ends; `Infinity` when none is ejected. */
  nextExpiry = Infinity;
  readonly #records = new Map<string, OutlierRecord>();

  /**
   * Counts a connect failure of `id`, an instance of `pool`, at `now`. Returns true when it ejected
   * the instance (the router must then rebuild the service's index).
   */
  failure(id: string, pool: LanePool, settings: OutlierSettings, now: number): boolean {
    if (this.ejected.has(id)) return false; // a call sent before the ejection: already counted for
    let record = this.#records.get(id);
    if (record === undefined) this.#records.set(id, (record = { failures: 0, lastFailureAt: now, ejections: 0, ejectedUntil: 0 }));
    if (record.failures > 0 && now - record.lastFailureAt > settings.windowMs) record.failures = 0;
    record.failures++;
    record.lastFailureAt = now;
    if (record.failures < settings.consecutiveFailures || !this.#ejectable(id, pool, settings)) return false;

    // An instance that stayed in for maxEjectMs since its last ejection ended starts over.
    if (record.ejections > 0 && now - record.ejectedUntil > settings.maxEjectMs) record.ejections = 0;
    record.ejections++;
    record.ejectedUntil = now + Math.min(settings.ejectMs * record.ejections, settings.maxEjectMs);
    record.failures = 0;
    this.ejected.add(id);
    if (record.ejectedUntil < this.nextExpiry) this.nextExpiry = record.ejectedUntil;
    return true;
  }

  /** A call reached `id`: its failures in a row start over. */
  success(id: string): void {
    const record = this.#records.get(id);
    if (record !== undefined && record.failures > 0) record.failures = 0;
  }

  /** Ends the ejections due at `now`. Returns true when one ended. */
  expire(now: number, settings: OutlierSettings | undefined): boolean {
    let changed = false;
    let next = Infinity;
    for (const id of this.ejected) {
      const record = this.#records.get(id);
      if (record === undefined || record.ejectedUntil <= now) {
        this.ejected.delete(id);
        changed = true;
      } else if (record.ejectedUntil < next) next = record.ejectedUntil;
    }
    this.nextExpiry = next;
    if (changed) this.#forget(now, settings);
    return changed;
  }

  /** Forgets the instances no longer listed. */
  retain(instances: readonly Instance[], now: number, settings: OutlierSettings | undefined): void {
    const listed = new Set<string>();
    for (const instance of instances) listed.add(instance.id);
    for (const id of this.#records.keys()) {
      if (!listed.has(id)) this.#records.delete(id);
    }
    for (const id of this.ejected) {
      if (!listed.has(id)) this.ejected.delete(id);
    }
    this.expire(now, settings);
    this.#forget(now, settings);
  }

  /** Records kept (for tests: memory stays bounded). */
  get size(): number {
    return this.#records.size;
  }

  /** Drops the records that have nothing left to remember: no recent failure, no ejection to grow. */
  #forget(now: number, settings: OutlierSettings | undefined): void {
    for (const [id, record] of this.#records) {
      if (this.ejected.has(id)) continue;
      const failing = settings !== undefined && record.failures > 0 && now - record.lastFailureAt <= settings.windowMs;
      const remembered = settings !== undefined && record.ejections > 0 && now - record.ejectedUntil <= settings.maxEjectMs;
      if (!failing && !remembered) this.#records.delete(id);
    }
  }

  /**
   * True when ejecting `id` keeps the lane within `maxEjectedPercent` of its listed instances
   * ejected, and leaves it at least one usable instance.
   */
  #ejectable(id: string, pool: LanePool, settings: OutlierSettings): boolean {
    let ejected = 1;
    let usableLeft = 0;
    for (const member of pool.members) {
      if (member.id === id) continue;
      if (this.ejected.has(member.id)) ejected++;
      else if (member.healthy && member.enabled) usableLeft++;
    }
    return usableLeft > 0 && ejected * 100 <= settings.maxEjectedPercent * pool.members.length;
  }
}
