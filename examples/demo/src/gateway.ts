/**
 * The demo's entry gateway, run as its own process by the launcher: decides each request's lane by
 * the rules in rules.yaml (or the lane it already carries, when it comes from this machine or with a
 * signed lane token) and forwards it to service A. Edits to rules.yaml apply while it runs; an
 * invalid edit is logged and the previous rules stay.
 *
 *   RULES=examples/demo/rules.yaml GATEWAY_PORT=8080 node dist/gateway.js
 *
 * With GRAYLANE_LANE_TOKEN_KEYS=id:secret[,id:secret...] set, any client may choose its lane with a
 * token signed by one of the keys, in the x-graylane-lane-token header (docs/guides/trust-boundary.md).
 */
import { DiagConsoleLogger, DiagLogLevel, diag } from '@opentelemetry/api';
import { parseLaneTokenKeys } from '@graylane/context';
import { createGateway } from '@graylane/gateway';
import { fileRuleSource, startGraylane } from '@graylane/node';

diag.setLogger(new DiagConsoleLogger(), DiagLogLevel.INFO);
const rulesPath = process.env['RULES'] ?? new URL('../rules.yaml', import.meta.url).pathname;
const tokenKeys = process.env['GRAYLANE_LANE_TOKEN_KEYS'];
const tokens = tokenKeys ? { keys: parseLaneTokenKeys(tokenKeys, 'GRAYLANE_LANE_TOKEN_KEYS') } : undefined;

const graylane = await startGraylane({ service: 'gateway', dependencies: ['a'], rules: fileRuleSource(rulesPath) });
const gateway = createGateway({
  router: graylane.router,
  upstream: 'a',
  rules: graylane.rules.matcher(),
  // Loopback clients are trusted, so that `curl -H 'x-mse-tag: gray' http://127.0.0.1:8080/a` works.
  trust: { trustedNetworks: ['127.0.0.0/8', '::1/128'], tokens },
  // The debug trail is on in the demo: `curl -i` shows the hops and their lanes (x-graylane-trail).
  trail: graylane.trail,
});
graylane.rules.onChange(({ matcher }) => gateway.setMatcher(matcher));
const address = await gateway.listen(Number(process.env['GATEWAY_PORT'] ?? 8080), process.env['GATEWAY_HOST'] ?? '127.0.0.1');
graylane.handleSignals(gateway.server);
process.send?.({ ready: true, service: 'gateway', address: `${address.address}:${address.port}` });
