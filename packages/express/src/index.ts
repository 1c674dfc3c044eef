export { graylaneMiddleware } from './middleware.js';
export type { GraylaneMiddlewareOptions, LaneMiddleware } from './middleware.js';
