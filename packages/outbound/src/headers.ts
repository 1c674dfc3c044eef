/**
 * How the outbound core reads and writes the headers of one client's requests. Each adapter
 * implements it once, as a constant (no per-request closures), over whatever its client calls a
 * request: axios's `AxiosHeaders`, a `ClientRequest`, a plain record for undici. The core only
 * touches the carrier headers (the lane headers and `baggage`), always by their lower-case names;
 * an implementation matches them case-insensitively when its client keeps names as given.
 *
 * @experimental for adapter authors; may change before 1.0.
 */
export interface HeaderAccess<R> {
  /** The value of header `name` on `request`; `undefined` when it has none (or one the core cannot read, such as a number). */
  get(request: R, name: string): string | string[] | undefined;
  /** Sets header `name` of `request` to `value`, replacing any value under another case of the name. */
  set(request: R, name: string, value: string | string[]): void;
  /** Removes header `name` from `request`, under any case; nothing when it has none. */
  delete(request: R, name: string): void;
}
