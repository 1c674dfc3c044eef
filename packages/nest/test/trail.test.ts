import { Controller, Get } from '@nestjs/common';
import { TRAIL_HEADER, ensureContextManager, getLaneTrail } from '@graylane/context';
import { GraylaneModule, Lane } from '../src/index.js';
import { PLATFORMS, serve } from './apps.js';
import type { RunningApp } from './apps.js';

@Controller()
class TrailController {
  @Get('trail')
  async trail(@Lane() lane: string | undefined): Promise<{ ok: boolean; lane: string }> {
    await new Promise((resolve) => setTimeout(resolve, 1));
    getLaneTrail()?.add('b[gray]@127.0.0.1:2');
    return { ok: true, lane: lane ?? 'base' };
  }
}

describe.each(PLATFORMS)('GraylaneModule debug trail on %s', (platform) => {
  let on: RunningApp;
  let off: RunningApp;
  let uncolored: RunningApp;

  beforeAll(async () => {
    ensureContextManager();
    on = await serve(platform, { imports: [GraylaneModule.forRoot({ trail: { service: 'a', lane: 'gray' } })], controllers: [TrailController] });
    off = await serve(platform, { imports: [GraylaneModule.forRoot()], controllers: [TrailController] });
    uncolored = await serve(platform, { imports: [GraylaneModule.forRoot({ trail: { service: 'a', lane: 'gray' }, coloring: false })], controllers: [TrailController] });
  });

  afterAll(() => Promise.all([on?.close(), off?.close(), uncolored?.close()]));

  async function answer(app: RunningApp, headers: Record<string, string> = {}): Promise<{ lane: string; trail: string | null }> {
    const res = await fetch(`${app.url}/trail`, { headers });
    const body = (await res.json()) as { ok: boolean; lane: string };
    expect(body.ok).toBe(true);
    return { lane: body.lane, trail: res.headers.get(TRAIL_HEADER) };
  }

  async function trailOf(app: RunningApp, headers: Record<string, string> = {}): Promise<string | null> {
    return (await answer(app, headers)).trail;
  }

  it('answers with this hop and the trails collected while handling the request', async () => {
    expect(await trailOf(on, { 'x-mse-tag': 'gray' })).toBe(`a[gray]@${new URL(on.url).host} > b[gray]@127.0.0.1:2`);
  });

  it('colors an unmarked request at a gray instance (@Lane() sees it, the hop is marked); coloring: false does not', async () => {
    expect(await answer(on)).toEqual({ lane: 'gray', trail: `a[gray*]@${new URL(on.url).host} > b[gray]@127.0.0.1:2` });
    expect(await answer(uncolored)).toEqual({ lane: 'base', trail: `a[gray]@${new URL(uncolored.url).host} > b[gray]@127.0.0.1:2` });
  });

  it('is off by default', async () => {
    expect(await trailOf(off)).toBeNull();
  });
});
