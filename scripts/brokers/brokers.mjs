// ESM entry of brokers.cjs (CommonJS so that jest set-ups can require it).
import brokers from './brokers.cjs';

export const { BROKERS, LABELS, KAFKA_VERSION, startBroker, prepareBrokers } = brokers;
