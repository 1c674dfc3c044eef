// How much a busy worker thread delays an idle event loop: a 1 ms interval on the main thread for
// 3 s, beside a worker thread at the lowest priority that allocates (`alloc`), spins without
// allocating (`spin`), or nothing (`none`). Run:
//   node bench/probes/worker-gc-noise.mjs alloc
//   node --single-threaded-gc bench/probes/worker-gc-noise.mjs alloc
// On the 2-core benchmark machine only `alloc` delays the loop (up to about 10 ms), and not with
// --single-threaded-gc: the worker's garbage collector runs helper threads at normal priority,
// which take the main thread's core. That is what the rules worker's YAML parse does to a reload.
import { Worker } from 'node:worker_threads';

const mode = process.argv[2] ?? 'alloc';
const body = {
  alloc: "let a = []; while (Date.now() < end) { a.push({ x: Math.random(), s: 'abc' + Math.random() }); if (a.length > 200000) a = []; }",
  spin: 'while (Date.now() < end) {}',
  none: '',
}[mode];
if (body === undefined) throw new Error(`mode: alloc, spin or none, not ${mode}`);
if (body) new Worker(`try { require('node:os').setPriority(19); } catch {} const end = Date.now() + 3500; ${body}`, { eval: true });

const delays = [];
let last = performance.now();
const probe = setInterval(() => {
  const now = performance.now();
  delays.push(now - last - 1);
  last = now;
}, 1);
setTimeout(() => {
  clearInterval(probe);
  delays.sort((a, b) => b - a);
  console.log(`${mode}: longest delays ${delays.slice(0, 5).map((d) => d.toFixed(1)).join(', ')} ms; ${delays.filter((d) => d > 4).length} over 4 ms in 3 s`);
  process.exit(0);
}, 3000);
