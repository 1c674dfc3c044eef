/**
 * @graylane/http: lane routing for `node:http` and `node:https` clients. Agents that send requests
 * to service hosts (`http://b/...`) to an instance in the caller's lane and write the lane carriers;
 * every other request passes through untouched.
 *
 * @packageDocumentation
 */
export { IDLE_SOCKET_TIMEOUT_MS, LaneAgent, LaneHttpsAgent } from './agent.js';
export type { LaneAgentOptions, LaneHttpsAgentOptions } from './agent.js';
export type { LaneRoutingOptions, RequestTarget } from './routing.js';
