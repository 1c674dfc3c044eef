/**
 * Resident memory of a process holding the instance lists of 200 services × 50 instances, with
 * graylane (`graylane`: every list given to a lane router with `router.update`, every lane's
 * selection warmed) or without (`plain`: the same lists held in a Map, as a registry client would).
 * Prints one JSON line: `{ variant, rssMb, heapUsedMb }`, measured after full garbage collections.
 *
 *   node --expose-gc dist/procs/memory-child.js graylane
 */
import type { Instance } from '@graylane/core';

const SERVICES = 200;
const INSTANCES = 50;
const LANES = ['gray', 'rc', 'feature-a', 'feature-b'];

const variant = process.argv[2];
if (variant !== 'plain' && variant !== 'graylane') {
  console.error('usage: memory-child.js plain|graylane');
  process.exit(2);
}
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) {
  console.error('memory-child.js needs --expose-gc');
  process.exit(2);
}

/** Half base, half spread over four lanes, mixed weights: the same shape as micro-select's fleet. */
function fleet(service: string, s: number): Instance[] {
  return Array.from({ length: INSTANCES }, (_, i): Instance => {
    const lane = i % 2 === 0 ? undefined : LANES[(i >> 1) % LANES.length];
    const host = `10.${s & 255}.${(i >> 8) & 255}.${i & 255}`;
    return {
      id: `${host}:8080`,
      service,
      host,
      port: 8080,
      lane,
      weight: 1 + (i % 3),
      healthy: true,
      enabled: true,
      metadata: lane ? { 'graylane.io/lane': lane } : {},
    };
  });
}

const lists = new Map<string, Instance[]>();
for (let s = 0; s < SERVICES; s++) lists.set(`service-${s}`, fleet(`service-${s}`, s));

let sink = 0;
let keep: unknown;
if (variant === 'graylane') {
  const { createRouter } = await import('@graylane/router');
  const router = createRouter(undefined, { fallback: { 'feature-x': ['rc'] } });
  for (const [service, instances] of lists) router.update(service, instances);
  // Warm every cached selection: every instance of every lane, and a fallback path.
  for (const service of lists.keys()) {
    for (let k = 0; k < INSTANCES; k++) {
      for (const lane of [undefined, ...LANES, 'feature-x']) sink += router.select(service, lane).instance.port;
    }
  }
  keep = router;
}

for (let i = 0; i < 4; i++) {
  gc();
  await new Promise((resolve) => setTimeout(resolve, 50));
}
const usage = process.memoryUsage();
console.log(
  JSON.stringify({
    variant,
    rssMb: usage.rss / 2 ** 20,
    heapUsedMb: usage.heapUsed / 2 ** 20,
    instances: [...lists.values()].reduce((n, l) => n + l.length, 0),
    sink: sink + (keep ? 1 : 0),
  }),
);
