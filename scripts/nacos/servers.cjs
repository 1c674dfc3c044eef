'use strict';
// The real Nacos servers graylane is tested against, by name: `rnacos` (r-nacos, crates.io) and
// `java` (the Java Nacos 3.1 server, Maven Central). `prepareTestServers` builds whatever is missing
// in parallel (cargo and Maven at once), printing what it prepares and how long each took.

const { ensureRnacos, startRnacos } = require('./rnacos.cjs');
const { ensureJavaNacos, startJavaNacos } = require('./java.cjs');
const { ensureJavaService } = require('./java-service.cjs');

/** Every Nacos server the Nacos suites and the Nacos end-to-end chain run against. */
const NACOS_SERVERS = ['rnacos', 'java'];

const LABELS = { rnacos: 'r-nacos', java: 'the Java Nacos server' };

/** Starts one test server by name; the options go to startRnacos or startJavaNacos. */
async function startNacos(server, options = {}) {
  if (server === 'rnacos') return Object.assign(await startRnacos(options), { kind: 'rnacos' });
  if (server === 'java') return startJavaNacos(options);
  throw new Error(`unknown Nacos test server "${server}" (known: ${NACOS_SERVERS.join(', ')})`);
}

/**
 * Builds r-nacos, the Java Nacos server and the Java test service when missing, in parallel.
 * Rejects with every failure, named, when any cannot be had: the tests never skip a server.
 */
async function prepareTestServers({ log = (line) => process.stdout.write(`${line}\n`) } = {}) {
  const started = Date.now();
  const jobs = [
    ['r-nacos', (l) => ensureRnacos({ log: l })],
    ['java-nacos', (l) => ensureJavaNacos({ log: l })],
    ['java-service', (l) => ensureJavaService({ log: l })],
  ];
  const results = await Promise.allSettled(
    jobs.map(async ([name, ensure]) => {
      const t0 = Date.now();
      await ensure((line) => log(`[${name}] ${line}`));
      log(`[${name}] ready (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
    }),
  );
  const failed = results.flatMap((result, i) => (result.status === 'rejected' ? [`${jobs[i][0]}: ${result.reason?.message ?? result.reason}`] : []));
  if (failed.length > 0) throw new Error(`could not prepare the test servers:\n${failed.join('\n')}`);
  log(`[servers] r-nacos, the Java Nacos server and the Java test service ready in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

module.exports = { NACOS_SERVERS, LABELS, startNacos, prepareTestServers };
