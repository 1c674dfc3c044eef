export { attachLaneRouting } from './interceptor.js';
export type { AxiosLaneOptions } from './interceptor.js';
