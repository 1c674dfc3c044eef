#!/usr/bin/env node
// Installs or resolves every missing test broker (Redis and RabbitMQ from Debian's packages, Kafka
// from Maven Central), in parallel, printing progress and how long each took.
import { prepareBrokers } from './brokers.mjs';

try {
  await prepareBrokers();
} catch (error) {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
}
