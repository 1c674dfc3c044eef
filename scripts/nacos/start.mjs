#!/usr/bin/env node
// Starts one local Nacos server for development (building it once if needed) and stays in the
// foreground until Ctrl-C.
//   node scripts/nacos/start.mjs [--server rnacos|java] [--port <http port>]
// gRPC listens on port + 1000. Prints NACOS_SERVER_ADDR=127.0.0.1:<port> once it serves.
import { parseArgs } from 'node:util';
import { LABELS, NACOS_SERVERS, startNacos } from './servers.mjs';

const usage = `usage: npm run nacos:start -- [--server ${NACOS_SERVERS.join('|')}] [--port <http port>]  (default r-nacos; gRPC port = http port + 1000)`;
let values;
try {
  ({ values } = parseArgs({
    options: { server: { type: 'string', short: 's', default: 'rnacos' }, port: { type: 'string', short: 'p' }, help: { type: 'boolean', short: 'h' } },
  }));
} catch (error) {
  console.error(`${error.message}\n${usage}`);
  process.exit(2);
}
if (values.help) {
  console.log(usage);
  process.exit(0);
}
if (!NACOS_SERVERS.includes(values.server)) {
  console.error(`--server must be one of ${NACOS_SERVERS.join(', ')}, got "${values.server}"\n${usage}`);
  process.exit(2);
}
const httpPort = values.port === undefined ? undefined : Number(values.port);
if (httpPort !== undefined && !(Number.isInteger(httpPort) && httpPort > 1000 && httpPort < 64534)) {
  console.error(`--port must be a TCP port between 1001 and 64533 (Nacos uses port - 1000 and port + 1000, + 1001), got "${values.port}"`);
  process.exit(2);
}

try {
  const nacos = await startNacos(values.server, { httpPort });
  console.log(`${LABELS[values.server]} is up: http ${nacos.httpPort}, grpc ${nacos.grpcPort}, data ${nacos.dataDir} (deleted on exit)`);
  console.log(`NACOS_SERVER_ADDR=${nacos.serverAddr}`);
  console.log('Ctrl-C to stop.');
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    await nacos.stop();
    process.exit(0);
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
} catch (error) {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
}
