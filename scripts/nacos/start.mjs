#!/usr/bin/env node
// Starts one local r-nacos for development (building it once if needed) and stays in the foreground
// until Ctrl-C. Usage: node scripts/nacos/start.mjs [--port <http port>] (gRPC listens on port + 1000).
import { parseArgs } from 'node:util';
import { startRnacos } from './rnacos.mjs';

const { values } = parseArgs({ options: { port: { type: 'string', short: 'p' }, help: { type: 'boolean', short: 'h' } } });
if (values.help) {
  console.log('usage: node scripts/nacos/start.mjs [--port <http port>]  (gRPC port = http port + 1000)');
  process.exit(0);
}
const httpPort = values.port === undefined ? undefined : Number(values.port);
if (httpPort !== undefined && !(Number.isInteger(httpPort) && httpPort > 0 && httpPort < 64536)) {
  console.error(`--port must be a TCP port below 64536 (gRPC uses port + 1000), got "${values.port}"`);
  process.exit(2);
}

try {
  const nacos = await startRnacos({ httpPort });
  console.log(`r-nacos is up: http ${nacos.httpPort}, grpc ${nacos.grpcPort}, data ${nacos.dataDir} (deleted on exit)`);
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
