/**
 * @graylane/nest: graylane for NestJS on Express or Fastify. `GraylaneModule` runs every route in the
 * lane its request carries; `LaneService` and `@Lane()` give the current lane.
 *
 * @packageDocumentation
 */
export { Lane, LaneService } from './lane.js';
export type { GraylaneModuleOptions } from './middleware.js';
export { GraylaneModule } from './module.js';
export type { GraylaneModuleAsyncOptions } from './module.js';
