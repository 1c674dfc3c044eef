import { Injectable, createParamDecorator } from '@nestjs/common';
import { getLane } from '@graylane/context';

/**
 * The lane of the request being handled, for providers. Injectable anywhere once `GraylaneModule`
 * is imported (it is global).
 *
 * @example
 * ```ts
 * constructor(private readonly lanes: LaneService) {}
 * ...
 * this.logger.log(`serving lane ${this.lanes.current() ?? 'base'}`);
 * ```
 */
@Injectable()
export class LaneService {
  /** The lane of the current request (its async context); `undefined` for base. */
  current(): string | undefined {
    return getLane();
  }
}

/**
 * Route handler parameter decorator: the lane of the request (`undefined` for base).
 *
 * @example
 * ```ts
 * @Get('hello')
 * hello(@Lane() lane: string | undefined) { ... }
 * ```
 */
export const Lane: () => ParameterDecorator = createParamDecorator(() => getLane());
