/**
 * `@graylane/amqp`: graylane lanes over RabbitMQ with amqplib. {@link publishInLane} (or
 * {@link laneMessageOptions}) stamps the current lane on a message (`x-mse-tag` and W3C `baggage`
 * headers); {@link consumeLanes} starts a lane consumer with its own queue per lane, bound to the
 * exchange, and the lane policy of @graylane/messaging: a gray consumer handles its lane's messages,
 * base handles the rest, and a lane's messages when that lane has no live consumer.
 *
 * @packageDocumentation
 */
export { laneMessageOptions, publishInLane } from './publish.js';
export type { LanePublishOptions } from './publish.js';
export { DEFAULT_PREFETCH, consumeLanes } from './consume.js';
export type { ConsumeLanesOptions, HandlerErrorAction, HandlerErrorPolicy, LaneConsumer, LaneMessageHandler } from './consume.js';
export { MAX_HEADER_BYTES, amqpHeaders } from './headers.js';
