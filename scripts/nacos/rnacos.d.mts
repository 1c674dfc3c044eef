export { RNACOS_VERSION, ensureRnacos, rnacosBinary, startRnacos, startRnacosCluster } from './rnacos.cjs';
export type { RnacosCluster, RnacosLog, RnacosNode } from './rnacos.cjs';
