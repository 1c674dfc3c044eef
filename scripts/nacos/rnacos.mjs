// ESM entry of rnacos.cjs (the implementation is CommonJS so that jest suites can require it).
import rnacos from './rnacos.cjs';

export const { RNACOS_VERSION, rnacosBinary, ensureRnacos, startRnacos, startRnacosCluster } = rnacos;
