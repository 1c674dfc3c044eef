import { BASE_LANE } from '@graylane/core';
import { carriersOrDefault } from '@graylane/context';
import type { Carriers } from '@graylane/context';
import type { Channel, Options } from 'amqplib';

/** Options of {@link laneMessageOptions} and {@link publishInLane}: amqplib's publish options, plus the lane. */
export interface LanePublishOptions extends Options.Publish {
  /**
   * The lane to stamp. Omitted: the current lane (`getLane()` from @graylane/context). Present but
   * `undefined`, or `'base'`: base, and graylane's carriers are removed from the headers.
   */
  readonly lane?: string | undefined;
  /** Which carriers to write (`graylane.carriers`, or `createCarriers(...)`; default `x-mse-tag` and W3C `baggage`). */
  readonly carriers?: Carriers | undefined;
}

/**
 * amqplib publish options for a message stamped with a lane: a copy of `options` whose `headers` are
 * a copy of the caller's headers with the lane written into graylane's carriers (`x-mse-tag` and
 * `baggage`). Headers the caller set are kept (a caller's `baggage` keeps its other entries); the
 * caller's objects are not modified. Use it with `sendToQueue`, or a `ConfirmChannel` with a callback.
 * Throws only `GRAYLANE_ERR_CONFIG_INVALID`, for `carriers` that `createCarriers` did not make.
 *
 * @example
 * ```ts
 * channel.sendToQueue('jobs', body, laneMessageOptions({ persistent: true }));
 * ```
 */
export function laneMessageOptions(options: LanePublishOptions = {}): Options.Publish {
  const { lane, carriers: given, ...publish } = options;
  const carriers = carriersOrDefault(given, 'laneMessageOptions.carriers');
  const headers: Record<string, unknown> = { ...(isRecord(publish.headers) ? publish.headers : {}) };
  if (Object.prototype.hasOwnProperty.call(options, 'lane')) carriers.injectLaneIntoMessage(headers, lane ?? BASE_LANE);
  else carriers.injectLaneIntoMessage(headers);
  return { ...publish, headers };
}

/**
 * Publishes `content` to `exchange` with `routingKey`, stamped with the current lane (or
 * `options.lane`); see {@link laneMessageOptions}. Returns what `channel.publish` returns (`false`:
 * the channel's write buffer is full, wait for `drain`).
 *
 * @example
 * ```ts
 * publishInLane(channel, 'orders', '', Buffer.from(JSON.stringify(order)));        // the current lane
 * publishInLane(channel, 'orders', '', body, { lane: 'gray', persistent: true });  // an explicit lane
 * ```
 */
export function publishInLane(
  channel: Pick<Channel, 'publish'>,
  exchange: string,
  routingKey: string,
  content: Buffer,
  options: LanePublishOptions = {},
): boolean {
  return channel.publish(exchange, routingKey, content, laneMessageOptions(options));
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
