#!/usr/bin/env node
// Builds r-nacos (crates.io, `cargo install --locked`) into graylane's cache when it is missing,
// printing progress; prints the binary's path. Used by .ci/run before the tests.
import { ensureRnacos } from './rnacos.mjs';

const started = Date.now();
const bin = await ensureRnacos({ log: (line) => console.log(`[r-nacos] ${line}`) });
console.log(`[r-nacos] ready: ${bin} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
