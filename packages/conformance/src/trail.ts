/** One hop of a debug trail (`x-graylane-trail`): `service[lane]@address`. */
export interface Hop {
  readonly service: string;
  /** `base` for base. */
  readonly lane: string;
  readonly address: string | undefined;
  /** The request arrived here with no lane and was colored with this hop's lane (`a[gray*]`). */
  readonly colored: boolean;
}

const HOP = /^([^[\]\s>(),]+)\[([^[\]\s*]+)(\*)?\](?:@(\S+))?$/;

/**
 * The hops of a trail header, in order: the grammar's branches (`a > (b > c, d)`) are listed depth
 * first. A trail cut short (`...`) keeps the hops before the cut.
 *
 * @throws Error when a hop does not read `service[lane]@address`.
 */
export function parseTrail(header: string): Hop[] {
  const text = header.endsWith('...') ? header.slice(0, -3) : header;
  const hops: Hop[] = [];
  for (const raw of text.split(/\s*>\s*|\s*,\s*|[()]/)) {
    const part = raw.trim();
    if (part === '') continue;
    const match = HOP.exec(part);
    if (!match) {
      if (header.endsWith('...') && text.endsWith(raw)) break; // the cut hop
      throw new Error(`not a trail hop: ${JSON.stringify(part)} in ${JSON.stringify(header)}`);
    }
    hops.push({ service: match[1]!, lane: match[2]!, address: match[4], colored: match[3] === '*' });
  }
  return hops;
}
