/**
 * `npm run demo`: starts the seed scenario (A -> B -> C with A and C also on the gray lane) behind
 * graylane's entry gateway, prints the URLs to try, and stops everything on Ctrl-C.
 *
 * Environment: PORT (gateway port, default 8080); NACOS_SERVER_ADDR to register and discover
 * through a real Nacos instead of the built-in file registry; GRAYLANE_DEMO_VERBOSE=1 to see logs.
 */
import { fileURLToPath } from 'node:url';
import { launchDemo } from './launcher.js';

const distDir = fileURLToPath(new URL('.', import.meta.url));
const rulesPath = fileURLToPath(new URL('../rules.yaml', import.meta.url));
const verbose = process.env['GRAYLANE_DEMO_VERBOSE'] === '1';
const port = Number(process.env['PORT'] ?? 8080);

console.log(`graylane demo: starting A, B, C (base) and A, C (gray) as separate processes, and the gateway on 127.0.0.1:${port} ...`);
const demo = await launchDemo({ distDir, rulesPath, port, log: verbose ? (line) => console.log(line) : undefined }).catch((error: unknown) => {
  console.error(`graylane demo: could not start: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});

const registry = process.env['NACOS_SERVER_ADDR'] ? `Nacos at ${process.env['NACOS_SERVER_ADDR']}` : `the built-in file registry, ${demo.registryDir}`;
console.log(`
Instances (registered in ${registry}):
${[...demo.processes.values()]
  .sort((x, y) => x.name.localeCompare(y.name))
  .map((p) => `  ${p.name.padEnd(8)} ${p.address}`)
  .join('\n')}

Try:
  curl ${demo.url}/a                              # A[base] -> B[base] -> C[base]
  curl '${demo.url}/a?group=gray'                 # A[gray] -> B[base] -> C[gray]   (MSE seed rule)
  curl '${demo.url}/a?env=gray'                   # A[gray] -> B[base] -> C[gray]   (APISIX seed rule)
  curl -H 'x-mse-tag: gray' ${demo.url}/a         # A[gray] -> B[base] -> C[gray]   (MSE header)
  curl -H 'baggage: lane=gray' ${demo.url}/a      # A[gray] -> B[base] -> C[gray]   (W3C baggage)
  curl -H 'accept: application/json' '${demo.url}/a?group=gray'

Rules: ${rulesPath}
Press Ctrl-C to stop.`);

let closing = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (closing) return;
    closing = true;
    console.log('\ngraylane demo: stopping ...');
    demo.close().then(() => process.exit(0), () => process.exit(1));
  });
}
