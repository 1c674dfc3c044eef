/**
 * `@graylane/messaging`: what every broker adapter (Kafka, RabbitMQ, BullMQ) shares. Messages carry
 * the lane in the same carriers as HTTP (`x-mse-tag` and W3C `baggage`, via @graylane/context);
 * {@link createLaneConsumerPolicy} decides per message which consumer handles it; {@link consumeInLane}
 * runs a handler in the message's lane; {@link recordJobLane}/{@link runJobInLane} keep delayed work
 * in the lane it was created in.
 *
 * @packageDocumentation
 */
export { extractMessageLane, injectLaneIntoMessage, runInMessageLane } from '@graylane/context';
export type { MessageHeaders } from '@graylane/context';
export { CONSUMER_METADATA_KEY, DEFAULT_FALLBACK_AFTER_MS, MAX_TRACKED_LANES, createLaneConsumerPolicy } from './policy.js';
export type { LaneAdopter, LaneConsumerOptions, LaneConsumerPolicy, LaneCopies, LaneDecision } from './policy.js';
export { MAX_WAIT_ROUNDS, consumeInLane } from './consume.js';
export type { ConsumeInLaneOptions } from './consume.js';
export { recordJobLane, runJobInLane } from './jobs.js';
export type { RecordJobOptions, RunJobOptions } from './jobs.js';
