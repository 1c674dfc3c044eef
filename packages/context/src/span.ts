import { trace } from '@opentelemetry/api';
import type { Span } from '@opentelemetry/api';
import { laneLabel } from '@graylane/core';

/** Span attribute: the lane a request carries on arrival (`base` without one); set by inbound middleware. */
export const ATTR_GRAYLANE_LANE = 'graylane.lane';
/** Span attribute: `true` when the request arrived with no lane and was colored with this instance's lane. */
export const ATTR_GRAYLANE_LANE_COLORED = 'graylane.lane.colored';
/** Span attribute: the lane an outbound call asked for (`base` without one). */
export const ATTR_GRAYLANE_LANE_REQUESTED = 'graylane.lane.requested';
/** Span attribute: the lane of the instance that served the call (`base` for a base instance). */
export const ATTR_GRAYLANE_LANE_SERVED = 'graylane.lane.served';
/** Span attribute: the callee service. */
export const ATTR_GRAYLANE_SERVICE = 'graylane.service';
/** Span attribute: the callee instance, as `host:port`. */
export const ATTR_GRAYLANE_INSTANCE = 'graylane.instance';
/** Span attribute: the lanes walked when the call fell back, `>`-separated (`gray>base`); empty when it did not. */
export const ATTR_GRAYLANE_FALLBACK = 'graylane.fallback';
/** Span attribute: why each lane passed over could not serve, `>`-separated (`no-instance`); empty when none was. */
export const ATTR_GRAYLANE_FALLBACK_REASON = 'graylane.fallback.reason';
/** Span attribute: how many times the call was retried on another instance. */
export const ATTR_GRAYLANE_RETRIES = 'graylane.retries';

/**
 * What {@link recordSelection} reads of a router's selection. `@graylane/router`'s `Selection`
 * has this shape; it is restated here so that this package does not depend on the router.
 */
export interface RecordedSelection {
  readonly service: string;
  readonly instance: { readonly host: string; readonly port: number };
  readonly requestedLane: string | undefined;
  readonly servedLane: string | undefined;
  readonly fallback: readonly { readonly lane: string; readonly reason: string }[];
}

/**
 * Records an outbound call's routing on a span: requested and served lane, service, instance,
 * fallback path and reasons, retries (see the `ATTR_GRAYLANE_*` names). Does nothing without a
 * recording span. Outbound adapters call it for every selection, a retry's included, so the span
 * ends up describing the instance that served the call.
 *
 * @param span the span to write to; default the active one. An adapter that records after the
 *   caller's context is gone (on a retry) passes the span it captured, and skips the call without one.
 * @param retries the retries made so far.
 */
export function recordSelection(selection: RecordedSelection, span: Span | undefined = trace.getActiveSpan(), retries = 0): void {
  if (span === undefined || !span.isRecording()) return;
  const { host, port } = selection.instance;
  let fallback = '';
  let reasons = '';
  for (const step of selection.fallback) {
    fallback += `${step.lane}>`;
    reasons += reasons === '' ? step.reason : `>${step.reason}`;
  }
  if (fallback !== '') fallback += laneLabel(selection.servedLane);
  span.setAttributes({
    [ATTR_GRAYLANE_LANE_REQUESTED]: laneLabel(selection.requestedLane),
    [ATTR_GRAYLANE_LANE_SERVED]: laneLabel(selection.servedLane),
    [ATTR_GRAYLANE_SERVICE]: selection.service,
    [ATTR_GRAYLANE_INSTANCE]: host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`,
    [ATTR_GRAYLANE_FALLBACK]: fallback,
    [ATTR_GRAYLANE_FALLBACK_REASON]: reasons,
    [ATTR_GRAYLANE_RETRIES]: retries,
  });
}

/**
 * Records the lane a request arrived with ({@link ATTR_GRAYLANE_LANE}, `base` without one) on a
 * span, by default the active one (the server span, in inbound middleware). Does nothing without
 * a recording span. A `colored` request (see `coloring` of the inbound options) also gets
 * {@link ATTR_GRAYLANE_LANE_COLORED}; `lane` is then the lane it was colored with.
 */
export function recordInboundLane(lane: string | undefined, span: Span | undefined = trace.getActiveSpan(), colored = false): void {
  if (span === undefined || !span.isRecording()) return;
  span.setAttribute(ATTR_GRAYLANE_LANE, laneLabel(lane));
  if (colored) span.setAttribute(ATTR_GRAYLANE_LANE_COLORED, true);
}
