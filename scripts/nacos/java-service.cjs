'use strict';
// The Java service of the mixed Java/Node end-to-end tests (test/java-service): built once per
// machine with Maven (official com.alibaba.nacos:nacos-client from Maven Central), then started as
// a real process that registers in Nacos and serves one hop of the demo's protocol.

const path = require('node:path');
const { HOST, forEachLine, spawnServer, killServer, defaultLog } = require('./common.cjs');
const { ensureMavenProject } = require('./maven.cjs');

const PROJECT_DIR = path.join(__dirname, '..', '..', 'test', 'java-service');
const READY_TIMEOUT_MS = 60_000;

/** Builds the Java service once per machine; returns its classpath. */
async function ensureJavaService({ log = defaultLog('java-service') } = {}) {
  const { classpath } = await ensureMavenProject({ projectDir: PROJECT_DIR, name: 'java-service', log });
  return classpath;
}

/**
 * Starts one Java hop: `service`, its callee `next` (optional), its `lane` (MSE_ALICLOUD_SERVICE_TAG;
 * none for base) and the Nacos `serverAddr`. Resolves with `{ address, stop(signal), output() }` once
 * it has registered.
 */
async function startJavaService({ service, next = '', lane = '', serverAddr, env = {}, log = defaultLog('java-service') }) {
  const classpath = await ensureJavaService({ log });
  const java = process.env.JAVA_HOME ? path.join(process.env.JAVA_HOME, 'bin', 'java') : 'java';
  const proc = spawnServer(
    java,
    ['-Xmx256m', '-XX:+UseSerialGC', '-XX:TieredStopAtLevel=1', '-cp', classpath, 'dev.graylane.testing.JavaService'],
    {
      env: { ...process.env, SERVICE: service, NEXT: next, MSE_ALICLOUD_SERVICE_TAG: lane, NACOS_SERVER_ADDR: serverAddr, ...env },
      tailLines: 80,
    },
  );
  const address = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`java ${service}[${lane || 'base'}] did not register within ${READY_TIMEOUT_MS} ms:\n${proc.tail.join('\n')}`)), READY_TIMEOUT_MS);
    forEachLine(proc.child.stdout, (line) => {
      const match = /^READY (\S+)$/.exec(line);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    });
    proc.exit.then(() => {
      clearTimeout(timer);
      reject(new Error(`java ${service}[${lane || 'base'}] exited during start-up:\n${proc.tail.join('\n')}`));
    });
  });
  return {
    service,
    lane: lane || 'base',
    address,
    host: HOST,
    stop: (signal = 'SIGTERM') => killServer(proc, signal, 10_000),
    output: () => proc.tail.join('\n'),
  };
}

module.exports = { ensureJavaService, startJavaService };
