// The connection surface NacosNaming and NacosConfig use, faked in memory so that tests can fail
// chosen requests deterministically. Subclasses are the "server": they answer in `handle`.
import { ErrorCode, GraylaneError } from '@graylane/core';
import type { Body } from '../src/proto.js';
import type { ConnectHandler, NacosConnection, PushHandler, Send } from '../src/transport/connection.js';

export abstract class FakeConnection<T extends string> {
  readonly calls: string[] = [];
  /** Requests of a type fail (with a timeout) while its count is above zero. */
  readonly failures: Record<T, number>;
  readonly #push = new Map<string, PushHandler>();
  readonly #connect: ConnectHandler[] = [];
  /** The `send` of the current connection: a new one after {@link reconnect}, as with NacosConnection. */
  #current: Send = (type, body) => this.send(type, body);

  constructor(failing: readonly T[]) {
    this.failures = Object.fromEntries(failing.map((type) => [type, 0])) as Record<T, number>;
  }

  /** Answers one request, as the server would. */
  protected abstract handle(type: string, body: Body): Body;
  /** Forgets what the server keeps per connection, on {@link reconnect}. */
  protected abstract forgetConnection(): void;

  readonly send: Send = async (type: string, body: Body) => {
    this.calls.push(type);
    if ((this.failures[type as T] ?? 0) > 0) {
      this.failures[type as T]--;
      throw new GraylaneError(ErrorCode.NACOS_TIMEOUT, `Nacos ${type} timed out after 3000 ms (injected)`);
    }
    return this.handle(type, body);
  };

  onPush(type: string, handler: PushHandler): void {
    this.#push.set(type, handler);
  }
  onConnect(handler: ConnectHandler): void {
    this.#connect.push(handler);
  }
  async ready(): Promise<Send> {
    return this.#current;
  }
  request(type: string, body: Body): Promise<Body> {
    return this.#current(type, body);
  }
  async close(): Promise<void> {}

  /** A new connection: the server forgets per-connection state; runs the connect handlers and, like NacosConnection, swallows their errors. */
  async reconnect(): Promise<void> {
    this.forgetConnection();
    const send: Send = (type, body) => this.send(type, body);
    this.#current = send;
    for (const handler of this.#connect) await handler(send).catch(() => undefined);
  }

  count(type: T): number {
    return this.calls.filter((call) => call === type).length;
  }

  /** The server pushes a request of `type` to this client. */
  protected push(type: string, body: Body): void {
    this.#push.get(type)?.(body);
  }

  /** This fake, typed as the connection the client classes take. */
  asConnection(): NacosConnection {
    return this as unknown as NacosConnection;
  }
}

/** Polls `condition` every 10 ms until it holds; throws naming `what` after `timeoutMs`. */
export async function until(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
