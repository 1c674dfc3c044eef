/**
 * `@graylane/bullmq`: graylane lanes over BullMQ. A BullMQ queue is a set of competing workers, so each
 * lane has a queue of its own, `<name>.lane.<lane>`. {@link createLaneQueue} stamps each job with its
 * lane (in the job option `graylane`, never in `data`) and routes it to its lane's queue when the
 * lane has a live worker, else to the base queue; {@link laneWorker} runs each job in the lane it was
 * created in (delayed and repeating jobs keep it), and the base worker also drains the queues of lanes
 * that no longer have a live worker, after the lane policy's bounded delay (never a strict lane's).
 *
 * @packageDocumentation
 */
export { JOB_LANE_OPTION, LANE_QUEUE_SEPARATOR, MAX_CARRIER_BYTES, jobCarriers, jobLane, laneJobOptions, laneQueueName } from './carriers.js';
export type { LaneJobsOptions, StampOptions } from './carriers.js';
export { LANES_KEY, createLaneQueue } from './queue.js';
export type { LaneAddOptions, LaneQueue, LaneQueueOptions } from './queue.js';
export { DEFAULT_DISCOVER_EVERY_MS, laneWorker } from './worker.js';
export type { LaneJobHandler, LaneWorker, LaneWorkerOptions } from './worker.js';
