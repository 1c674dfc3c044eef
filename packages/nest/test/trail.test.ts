import { Controller, Get } from '@nestjs/common';
import { TRAIL_HEADER, ensureContextManager, getLaneTrail } from '@graylane/context';
import { GraylaneModule } from '../src/index.js';
import { PLATFORMS, serve } from './apps.js';
import type { RunningApp } from './apps.js';

@Controller()
class TrailController {
  @Get('trail')
  async trail(): Promise<{ ok: boolean }> {
    await new Promise((resolve) => setTimeout(resolve, 1));
    getLaneTrail()?.add('b[gray]@127.0.0.1:2');
    return { ok: true };
  }
}

describe.each(PLATFORMS)('GraylaneModule debug trail on %s', (platform) => {
  let on: RunningApp;
  let off: RunningApp;

  beforeAll(async () => {
    ensureContextManager();
    on = await serve(platform, { imports: [GraylaneModule.forRoot({ trail: { service: 'a', lane: 'gray' } })], controllers: [TrailController] });
    off = await serve(platform, { imports: [GraylaneModule.forRoot()], controllers: [TrailController] });
  });

  afterAll(() => Promise.all([on?.close(), off?.close()]));

  async function trailOf(app: RunningApp): Promise<string | null> {
    const res = await fetch(`${app.url}/trail`);
    expect(await res.json()).toEqual({ ok: true });
    return res.headers.get(TRAIL_HEADER);
  }

  it('answers with this hop and the trails collected while handling the request', async () => {
    expect(await trailOf(on)).toBe(`a[gray]@${new URL(on.url).host} > b[gray]@127.0.0.1:2`);
  });

  it('is off by default', async () => {
    expect(await trailOf(off)).toBeNull();
  });
});
