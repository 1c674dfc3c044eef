export { createGateway } from './gateway.js';
export type { Gateway, GatewayOptions, LaneDecision, RouteInfo } from './gateway.js';
