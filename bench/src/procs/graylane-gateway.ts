/**
 * The chain's entry gateway with graylane: decides the lane by rule (`?group=gray` → gray, the
 * demo's rule) or by the lane the request carries, and forwards to service A in that lane.
 */
import { createGateway } from '@graylane/gateway';
import { compileMatcher } from '@graylane/matcher';
import { startGraylane } from '@graylane/node';
import { validateRules } from '@graylane/rules';
import { announce } from './hops.js';

const validation = validateRules({
  lanes: [{ tag: 'gray', match: [{ all: [{ type: 'query', name: 'group', operator: '==', value: 'gray' }] }] }],
});
if (!validation.ok) throw new Error(`bench rules are invalid: ${JSON.stringify(validation.issues)}`);

const graylane = await startGraylane({ service: 'gateway', dependencies: ['a'] });
const gateway = createGateway({ router: graylane.router, upstream: 'a', matcher: compileMatcher(validation.rules) });
const address = await gateway.listen(0, '127.0.0.1');
graylane.handleSignals(gateway.server);
announce(address.port);
