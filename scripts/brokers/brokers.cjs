'use strict';
// The real message brokers graylane's broker adapters are tested against, by name: `kafka` (KRaft,
// Maven Central), `rabbitmq` and `redis` (Debian's packages). `prepareBrokers` installs or resolves
// whatever is missing, in parallel, with progress lines; `startBroker(kind)` starts a private
// instance on free loopback ports with throw-away data. Every broker this process starts is killed
// when it exits.
//
// CommonJS so that jest set-ups (compiled to CommonJS) can `require` it; brokers.mjs re-exports it
// for ESM callers. Types: brokers.d.cts.

const { ensureDebianPackages } = require('./debian.cjs');
const { clusterId, ensureKafka, startKafka, KAFKA_VERSION } = require('./kafka.cjs');
const { startRabbitmq } = require('./rabbitmq.cjs');
const { startRedis } = require('./redis.cjs');

/** Every broker the broker suites run against. */
const BROKERS = ['kafka', 'rabbitmq', 'redis'];

const LABELS = { kafka: `Kafka ${KAFKA_VERSION} (KRaft)`, rabbitmq: 'RabbitMQ', redis: 'Redis' };

/** Starts one broker by name on free loopback ports; the options go to its start helper. */
function startBroker(kind, options = {}) {
  if (kind === 'kafka') return startKafka(options);
  if (kind === 'rabbitmq') return startRabbitmq(options);
  if (kind === 'redis') return startRedis(options);
  return Promise.reject(new Error(`unknown test broker "${kind}" (known: ${BROKERS.join(', ')})`));
}

/**
 * Installs Redis and RabbitMQ from Debian's packages (one apt-get) and resolves Kafka with Maven,
 * in parallel, when missing. Rejects naming each that cannot be had: the broker suites never skip.
 */
async function prepareBrokers({ log = (line) => process.stdout.write(`${line}\n`) } = {}) {
  const started = Date.now();
  const jobs = [
    ['redis+rabbitmq', (l) => ensureDebianPackages(['redis', 'rabbitmq'], { log: l })],
    ['kafka', (l) => ensureKafka({ log: l })],
  ];
  const results = await Promise.allSettled(
    jobs.map(async ([name, ensure]) => {
      const t0 = Date.now();
      await ensure((line) => log(`[${name}] ${line}`));
      log(`[${name}] ready (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
    }),
  );
  const failed = results.flatMap((result, i) => (result.status === 'rejected' ? [`${jobs[i][0]}: ${result.reason?.message ?? result.reason}`] : []));
  if (failed.length > 0) throw new Error(`could not prepare the test brokers:\n${failed.join('\n')}`);
  log(`[brokers] Kafka, RabbitMQ and Redis ready in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

module.exports = { BROKERS, LABELS, KAFKA_VERSION, kafkaClusterId: clusterId, startBroker, prepareBrokers };
