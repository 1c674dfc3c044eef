import http from 'node:http';
import { Controller, Get, Inject, Module, Req } from '@nestjs/common';
import type { IncomingMessage } from 'node:http';
import { getLane, injectLane } from '@graylane/context';
import { describePropagationContract, getJson } from '@graylane/testing';
import type { ContractHandler, PropagationAdapter } from '@graylane/testing';
import { GraylaneModule } from '../src/index.js';
import { PLATFORMS, serve } from './apps.js';
import type { Platform } from './apps.js';

const HANDLER = Symbol('contract handler');

@Controller()
class ContractController {
  constructor(@Inject(HANDLER) private readonly handler: ContractHandler) {}

  @Get()
  handle(@Req() req: { headers: IncomingMessage['headers']; raw?: IncomingMessage }) {
    return this.handler({ headers: req.raw?.headers ?? req.headers });
  }
}

/** GraylaneModule inbound on `platform`; outbound with graylane's injectLane over node:http. */
function nestAdapter(platform: Platform): PropagationAdapter {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  return {
    async start(handler) {
      @Module({ imports: [GraylaneModule.forRoot()], controllers: [ContractController], providers: [{ provide: HANDLER, useValue: handler }] })
      class ContractModule {}
      return serve(platform, { imports: [ContractModule] });
    },
    call(url, headers = {}) {
      const outbound: Record<string, unknown> = { ...headers };
      injectLane(outbound, getLane());
      return getJson(url, outbound as http.OutgoingHttpHeaders, agent);
    },
    close: async () => agent.destroy(),
  };
}

jest.setTimeout(20_000);

for (const platform of PLATFORMS) {
  describePropagationContract(`GraylaneModule on ${platform}, injectLane outbound`, () => nestAdapter(platform));
}
