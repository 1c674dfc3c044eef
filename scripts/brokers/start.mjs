#!/usr/bin/env node
// Starts one local test broker for development (installing or resolving it once if needed) and stays
// in the foreground until Ctrl-C, then stops it and deletes its data.
//   node scripts/brokers/start.mjs --broker kafka|rabbitmq|redis [--port <client port>]
// Prints the variable a client reads: KAFKA_BROKERS=..., AMQP_URL=... or REDIS_URL=...
import { parseArgs } from 'node:util';
import { BROKERS, LABELS, startBroker } from './brokers.mjs';

const usage = `usage: npm run brokers:start -- --broker ${BROKERS.join('|')} [--port <client port>]`;
let values;
try {
  ({ values } = parseArgs({ options: { broker: { type: 'string', short: 'b' }, port: { type: 'string', short: 'p' }, help: { type: 'boolean', short: 'h' } } }));
} catch (error) {
  console.error(`${error.message}\n${usage}`);
  process.exit(2);
}
if (values.help) {
  console.log(usage);
  process.exit(0);
}
if (!BROKERS.includes(values.broker)) {
  console.error(`--broker must be one of ${BROKERS.join(', ')}, got ${values.broker === undefined ? 'nothing' : `"${values.broker}"`}\n${usage}`);
  process.exit(2);
}
const port = values.port === undefined ? undefined : Number(values.port);
if (port !== undefined && !(Number.isInteger(port) && port > 0 && port < 65536)) {
  console.error(`--port must be a TCP port, got "${values.port}"`);
  process.exit(2);
}

try {
  const broker = await startBroker(values.broker, { port, log: (line) => console.log(`[${values.broker}] ${line}`) });
  console.log(`${LABELS[values.broker]} is up on ${broker.address}, data ${broker.dataDir} (deleted on exit)`);
  for (const [key, value] of Object.entries(broker.env)) console.log(`${key}=${value}`);
  console.log('Ctrl-C to stop.');
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    await broker.stop();
    process.exit(0);
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
} catch (error) {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
}
