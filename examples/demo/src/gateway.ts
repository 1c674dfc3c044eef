/**
 * The demo's entry gateway, run as its own process by the launcher: decides each request's lane by
 * the rules in rules.yaml (or the lane it already carries) and forwards it to service A.
 *
 *   RULES=examples/demo/rules.yaml GATEWAY_PORT=8080 node dist/gateway.js
 */
import { readFileSync } from 'node:fs';
import { createGateway } from '@graylane/gateway';
import { compileMatcher } from '@graylane/matcher';
import { startGraylane } from '@graylane/node';
import { parseRules } from '@graylane/rules';

const rulesPath = process.env['RULES'] ?? new URL('../rules.yaml', import.meta.url).pathname;
const { rules, warnings } = parseRules(readFileSync(rulesPath, 'utf8'), { source: rulesPath });
for (const warning of warnings) console.warn(`rules: ${warning.path}: ${warning.message}`);

const graylane = await startGraylane({ service: 'gateway', dependencies: ['a'] });
const gateway = createGateway({ router: graylane.router, upstream: 'a', matcher: compileMatcher(rules) });
const address = await gateway.listen(Number(process.env['GATEWAY_PORT'] ?? 8080), process.env['GATEWAY_HOST'] ?? '127.0.0.1');
graylane.handleSignals(gateway.server);
process.send?.({ ready: true, service: 'gateway', address: `${address.address}:${address.port}` });
