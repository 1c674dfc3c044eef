// What keeping new objects alive costs an event loop, whatever builds them: the longest delay of a
// 1 ms interval while this process comes to hold `mb` MB more of small objects, made in one of
// three ways, with the loop free between steps (as the rules manager's sliced compile leaves it):
//
//   slices  made by JavaScript in slices of SLICE_MS (default 2 ms; a setImmediate between), as a
//           compile makes tests
//   small   received as 50-lane messages (v8.deserialize of about 17 KB each), as the rules worker
//           sends lanes
//   large   received as 400-lane messages (about 139 KB each): V8 deserialises a message over
//           100 KB straight into the old generation, so no young-generation collection copies it
//
// Run: node --expose-gc bench/probes/live-alloc-floor.mjs <slices|small|large> [mb] [rounds]
//      SLICE_MS=0.5 node --expose-gc bench/probes/live-alloc-floor.mjs slices 60
//
// A full replacement of the rules benchmark's 10,000 lanes keeps about 60 MB (the lanes, their
// compiled tests, 10,000 compiled regexes: a rules manager holding them kept 60.1 MB more heap than
// one holding 2,000 before them, measured after four collections, a scratch script). On the 2-core benchmark machine (2026-12-07, 16:30 UTC,
// five rounds each, the longest delay of each round):
//   slices 60 MB: 9.0 to 24.5 ms, and 10.8 to 46.2 in two more runs; 20 MB: 13.2 to 21.6; 10 MB: 2.3 to 9.1
//   slices of 0.5 ms, 60 MB: 7.6 to 34.9 (the 34.9 a first round); of 0.25 ms: 8.3 to 11.1
//   small 60 MB: 6.9 to 8.4 ms (each step about 0.4 ms of deserialising)
//   large 60 MB: 7.7 to 23.2 ms: no better than small (the old generation's collections take what
//   the young generation's no longer do)
// So the longest delay is about what a step takes plus the collection that falls within it, and a
// reload that keeps tens of MB of small objects on the serving thread does not stay under 10 ms
// here in every round, however it is sliced.
import v8 from 'node:v8';

const mode = process.argv[2] ?? 'slices';
const mb = Number(process.argv[3] ?? 60);
const rounds = Number(process.argv[4] ?? 5);
const sliceMs = Number(process.env.SLICE_MS ?? 2);
if (!(sliceMs > 0 && sliceMs <= 100)) throw new Error(`SLICE_MS: more than 0, up to 100, not ${process.env.SLICE_MS}`);
if (!['slices', 'small', 'large'].includes(mode)) throw new Error(`mode: slices, small or large, not ${mode}`);
if (!(mb > 0 && mb <= 1024)) throw new Error(`mb: 1 to 1024, not ${process.argv[3]}`);
const gc = globalThis.gc;
if (!gc) throw new Error('run with --expose-gc: each round starts from a collected heap');

/** A lane of the rules benchmark's shape, as the rules worker sends it. */
const lane = (i) => ({
  tag: `lane-${i}`,
  enabled: true,
  priority: 0,
  match: [
    { priority: 0, condition: { type: 'header', name: 'x-user-id', operator: '==', value: `user-${i}` } },
    {
      priority: 0,
      condition: {
        all: [
          { type: 'query', name: 'g', operator: 'in', values: [`a${i}`, `b${i}`] },
          { type: 'header', name: 'x-env', operator: 'regex', value: `^env-${i}-[a-z]+$` },
        ],
      },
    },
  ],
  fallback: ['base'],
  strict: false,
});
const message = (lanes) => v8.serialize({ type: 'lanes', lanes: Array.from({ length: lanes }, (_, i) => lane(i)) });
const messages = { small: message(50), large: message(400) };

const nextTurn = () => new Promise((resolve) => setImmediate(resolve));
const heap = () => process.memoryUsage().heapUsed;

async function round() {
  gc();
  await new Promise((resolve) => setTimeout(resolve, 300));
  const keep = [];
  let longest = 0;
  let last = performance.now();
  const probe = setInterval(() => {
    const now = performance.now();
    longest = Math.max(longest, now - last - 1);
    last = now;
  }, 1);
  await new Promise((resolve) => setTimeout(resolve, 20));
  const target = heap() + mb * 1e6;
  // Bounded: at most 10 million steps, whatever the heap figure says.
  for (let step = 0; heap() < target && step < 1e7; step++) {
    if (mode === 'slices') {
      const end = performance.now() + sliceMs;
      for (let i = 0; performance.now() < end; i++) keep.push({ i, pair: [i, i + 1], name: `x${i}`, next: null });
    } else {
      keep.push(v8.deserialize(messages[mode]));
    }
    await nextTurn();
  }
  await new Promise((resolve) => setTimeout(resolve, 20));
  clearInterval(probe);
  return longest;
}

const longest = [];
for (let i = 0; i < rounds; i++) longest.push(await round());
const sizes = mode === 'slices' ? '' : ` (${messages[mode].length} B a message)`;
console.log(`${mode}${sizes}, ${mb} MB kept: longest delay per round ${longest.map((d) => d.toFixed(1)).join(', ')} ms`);
