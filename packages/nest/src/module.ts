import { Global, Inject, Module, Optional } from '@nestjs/common';
import type { DynamicModule, InjectionToken, MiddlewareConsumer, ModuleMetadata, NestModule, OptionalFactoryDependency } from '@nestjs/common';
import { LaneService } from './lane.js';
import { laneMiddleware } from './middleware.js';
import type { GraylaneModuleOptions } from './middleware.js';

/** Options of {@link GraylaneModule.forRootAsync}. */
export interface GraylaneModuleAsyncOptions {
  /** Modules whose providers the factory injects. */
  readonly imports?: ModuleMetadata['imports'];
  /** Resolves the options; receives the providers named in `inject`. */
  readonly useFactory: (...args: never[]) => GraylaneModuleOptions | Promise<GraylaneModuleOptions>;
  /** Providers passed to `useFactory`, in order. */
  readonly inject?: (InjectionToken | OptionalFactoryDependency)[];
}

const GRAYLANE_OPTIONS = Symbol.for('graylane.nest.options');

/**
 * graylane for a Nest application, on the Express or the Fastify platform: every route runs in the
 * lane its request carries (`x-mse-tag`, W3C baggage, ...), so outbound calls made while handling it,
 * across any `await`, stay in the lane. The current lane is injectable ({@link LaneService}) and a
 * handler parameter ({@link Lane}). Global: import it once, in the root module.
 *
 * @example
 * ```ts
 * @Module({ imports: [GraylaneModule.forRoot({ carriers: graylane.carriers })], controllers: [AppController] })
 * export class AppModule {}
 * ```
 */
@Global()
@Module({ providers: [LaneService], exports: [LaneService] })
export class GraylaneModule implements NestModule {
  readonly #options: GraylaneModuleOptions;

  constructor(@Optional() @Inject(GRAYLANE_OPTIONS) options: GraylaneModuleOptions | undefined) {
    this.#options = options ?? {};
  }

  /** The module with `options` (default: graylane's default carriers). */
  static forRoot(options: GraylaneModuleOptions = {}): DynamicModule {
    return { module: GraylaneModule, providers: [{ provide: GRAYLANE_OPTIONS, useValue: options }] };
  }

  /**
   * The module with options from a factory, e.g. one that awaits `startGraylane` or reads a config
   * service.
   *
   * @example
   * ```ts
   * GraylaneModule.forRootAsync({ imports: [ConfigModule], inject: [ConfigService], useFactory: (config: ConfigService) => ({ ... }) })
   * ```
   */
  static forRootAsync(options: GraylaneModuleAsyncOptions): DynamicModule {
    return {
      module: GraylaneModule,
      imports: options.imports ?? [],
      providers: [{ provide: GRAYLANE_OPTIONS, useFactory: options.useFactory, inject: options.inject ?? [] }],
    };
  }

  /** Applies the lane middleware to every route. Called by Nest. */
  configure(consumer: MiddlewareConsumer): void {
    consumer.apply(laneMiddleware(this.#options)).forRoutes('*');
  }
}
