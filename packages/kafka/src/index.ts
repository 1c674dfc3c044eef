/**
 * `@graylane/kafka`: lanes over Kafka with kafkajs. {@link laneProducer} / {@link stampMessages} stamp
 * each record with the current lane (graylane's carriers, the same as HTTP); {@link runLaneConsumer}
 * runs a service's consumer of one lane in that lane's own consumer group, and the lane policy of
 * @graylane/messaging decides per record whether it handles it: a gray consumer takes its lane, base
 * takes base records and those of lanes with no live consumer.
 *
 * @packageDocumentation
 */
export { laneProducer, stampMessages } from './producer.js';
export type { LaneProducerOptions, StampOptions } from './producer.js';
export { laneGroupId, runLaneConsumer } from './consumer.js';
export type { KafkaLaneConsumer, KafkaLaneConsumerOptions, KafkaLaneHandler } from './consumer.js';
export { MAX_HEADER_BYTES, toMessageHeaders } from './headers.js';
