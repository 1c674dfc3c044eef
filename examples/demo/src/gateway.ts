/**
 * The demo's entry gateway, run as its own process by the launcher: decides each request's lane by
 * the rules in rules.yaml (or the lane it already carries) and forwards it to service A. Edits to
 * rules.yaml apply while it runs; an invalid edit is logged and the previous rules stay.
 *
 *   RULES=examples/demo/rules.yaml GATEWAY_PORT=8080 node dist/gateway.js
 */
import { DiagConsoleLogger, DiagLogLevel, diag } from '@opentelemetry/api';
import { createGateway } from '@graylane/gateway';
import { fileRuleSource, startGraylane } from '@graylane/node';

diag.setLogger(new DiagConsoleLogger(), DiagLogLevel.INFO);
const rulesPath = process.env['RULES'] ?? new URL('../rules.yaml', import.meta.url).pathname;

const graylane = await startGraylane({ service: 'gateway', dependencies: ['a'], rules: fileRuleSource(rulesPath) });
const gateway = createGateway({ router: graylane.router, upstream: 'a', matcher: graylane.rules.matcher() });
graylane.rules.onChange(({ matcher }) => gateway.setMatcher(matcher));
const address = await gateway.listen(Number(process.env['GATEWAY_PORT'] ?? 8080), process.env['GATEWAY_HOST'] ?? '127.0.0.1');
graylane.handleSignals(gateway.server);
process.send?.({ ready: true, service: 'gateway', address: `${address.address}:${address.port}` });
