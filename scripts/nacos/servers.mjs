// ESM entry of servers.cjs (CommonJS so that jest suites can require it).
import servers from './servers.cjs';

export const { NACOS_SERVERS, LABELS, startNacos, prepareTestServers } = servers;
