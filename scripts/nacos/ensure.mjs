#!/usr/bin/env node
// Builds every Nacos test server that is missing (r-nacos with cargo, the Java Nacos server and the
// Java test service with Maven), in parallel, printing progress and how long each took.
import { prepareTestServers } from './servers.mjs';

try {
  await prepareTestServers();
} catch (error) {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
}
