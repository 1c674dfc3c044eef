/**
 * What every service process of the chain answers, in all three variants: its own hop, then the
 * hops of the service it calls. Identical work per request, so the variants differ only in routing.
 */
export interface Hop {
  readonly service: string;
  readonly lane: string;
  readonly port: number;
}

/** Tells the parent process the child listens on `port`, and exits with the parent. */
export function announce(port: number): void {
  process.send?.({ ready: true, port });
  // Never outlive the benchmark runner, even when it is killed without cleaning up.
  process.on('disconnect', () => process.exit(0));
}

export function required(name: string): string {
  const value = process.env[name];
  if (!value) {
    console.error(`${name} is required`);
    process.exit(2);
  }
  return value;
}
