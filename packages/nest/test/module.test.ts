import { setTimeout as sleep } from 'node:timers/promises';
import { Body, Controller, Get, Injectable, Module, Post } from '@nestjs/common';
import { ensureContextManager, getLane } from '@graylane/context';
import { GraylaneModule, Lane, LaneService } from '../src/index.js';
import { PLATFORMS, serve } from './apps.js';
import type { RunningApp } from './apps.js';

/** A provider of the application that depends on the lane. */
@Injectable()
class Greeter {
  constructor(private readonly lanes: LaneService) {}

  greet(): string {
    return `hello from ${this.lanes.current() ?? 'base'}`;
  }
}

@Controller()
class LaneController {
  constructor(private readonly greeter: Greeter) {}

  @Get('lane')
  async lane(@Lane() param: string | undefined) {
    const first = getLane() ?? null;
    await sleep(2);
    return { param: param ?? null, first, afterTimer: getLane() ?? null, greeting: this.greeter.greet() };
  }

  @Post('echo')
  echo(@Body() body: unknown, @Lane() lane: string | undefined) {
    return { body, lane: lane ?? null, context: getLane() ?? null };
  }
}

@Module({ controllers: [LaneController], providers: [Greeter] })
class FeatureModule {}

@Injectable()
class CarrierConfig {
  readonly header = 'x-lane';
}

@Module({ providers: [CarrierConfig], exports: [CarrierConfig] })
class ConfigModule {}

describe.each(PLATFORMS)('GraylaneModule on %s', (platform) => {
  const seenByHook: Array<string | undefined> = [];
  let forRoot: RunningApp;
  let forRootAsync: RunningApp;
  let bare: RunningApp;

  beforeAll(async () => {
    ensureContextManager();
    forRoot = await serve(platform, {
      imports: [GraylaneModule.forRoot({ onLane: (lane) => seenByHook.push(lane) }), FeatureModule],
    });
    forRootAsync = await serve(platform, {
      imports: [
        GraylaneModule.forRootAsync({
          imports: [ConfigModule],
          inject: [CarrierConfig],
          useFactory: async (config: CarrierConfig) => ({ carriers: { mseTag: config.header } }),
        }),
        FeatureModule,
      ],
    });
    bare = await serve(platform, { imports: [GraylaneModule, FeatureModule] });
  });

  afterAll(() => Promise.all([forRoot?.close(), forRootAsync?.close(), bare?.close()]));

  async function call(app: RunningApp, path: string, init?: RequestInit): Promise<unknown> {
    const response = await fetch(`${app.url}${path}`, init);
    expect(response.status).toBeLessThan(300);
    return response.json();
  }

  test('x-mse-tag puts the request in its lane: @Lane(), LaneService and the context agree, across timers', async () => {
    await expect(call(forRoot, '/lane', { headers: { 'x-mse-tag': 'gray' } })).resolves.toEqual({
      param: 'gray',
      first: 'gray',
      afterTimer: 'gray',
      greeting: 'hello from gray',
    });
  });

  test('W3C baggage lane=... puts the request in its lane', async () => {
    await expect(call(forRoot, '/lane', { headers: { baggage: 'user=1, lane=blue' } })).resolves.toMatchObject({ param: 'blue', afterTimer: 'blue' });
  });

  test('no carrier, or a malformed one, means base', async () => {
    const base = { param: null, first: null, afterTimer: null, greeting: 'hello from base' };
    await expect(call(forRoot, '/lane')).resolves.toEqual(base);
    await expect(call(forRoot, '/lane', { headers: { 'x-mse-tag': '../admin' } })).resolves.toEqual(base);
  });

  // Larger than one socket read, so the body arrives in several chunks.
  test('the lane holds in handlers that read a request body', async () => {
    const init = { method: 'POST', headers: { 'x-mse-tag': 'gray', 'content-type': 'application/json' }, body: JSON.stringify({ big: 'x'.repeat(90_000) }) };
    const reply = (await call(forRoot, '/echo', init)) as { body: { big: string }; lane: string; context: string };
    expect(reply.body.big).toHaveLength(90_000);
    expect(reply).toMatchObject({ lane: 'gray', context: 'gray' });
  });

  test('the onLane hook sees each request lane', async () => {
    seenByHook.length = 0;
    await call(forRoot, '/lane', { headers: { 'x-mse-tag': 'gray' } });
    await call(forRoot, '/lane');
    expect(seenByHook).toEqual(['gray', undefined]);
  });

  test('forRootAsync takes the carriers from its factory', async () => {
    await expect(call(forRootAsync, '/lane', { headers: { 'x-lane': 'feature-x' } })).resolves.toMatchObject({ param: 'feature-x' });
    await expect(call(forRootAsync, '/lane', { headers: { 'x-mse-tag': 'gray' } })).resolves.toMatchObject({ param: null });
  });

  test('imported without forRoot, it uses the default carriers', async () => {
    await expect(call(bare, '/lane', { headers: { 'x-mse-tag': 'gray' } })).resolves.toMatchObject({ param: 'gray' });
  });

  test('lanes do not leak between 200 concurrent requests', async () => {
    const lanes = ['gray', 'blue', undefined, 'feature-x'];
    const results = await Promise.all(
      Array.from({ length: 200 }, async (_, i) => {
        const lane = lanes[i % lanes.length];
        const reply = await call(forRoot, '/lane', { headers: lane ? { 'x-mse-tag': lane } : {} });
        return [lane ?? null, reply] as const;
      }),
    );
    for (const [lane, reply] of results) expect(reply).toMatchObject({ param: lane, first: lane, afterTimer: lane });
  });
});
