import type { Field } from '@graylane/rules';
import type { RequestView } from '../request-view.js';

/** Reads one field of a request; `undefined` when absent. */
export type FieldReader = (req: RequestView) => string | undefined;

/** A user-supplied attribute: any string derived from the request. */
export type Attribute = (req: RequestView) => string | undefined;

/** The reader of `field`, or a message when it names an attribute that was not supplied. */
export function fieldReader(field: Field, attributes: Readonly<Record<string, Attribute>>): FieldReader | string {
  const { name } = field;
  switch (field.type) {
    case 'header':
      return (req) => req.header(name);
    case 'query':
      return (req) => req.query(name);
    case 'cookie':
      return (req) => req.cookie(name);
    case 'path':
      return (req) => req.path;
    case 'method':
      return (req) => req.method;
    case 'host':
      return (req) => req.host;
    case 'attribute': {
      const attribute = Object.hasOwn(attributes, name) ? attributes[name] : undefined;
      if (typeof attribute !== 'function') {
        const known = Object.keys(attributes);
        return `attribute "${name}" is not supplied to compileMatcher (supplied: ${known.length ? known.join(', ') : 'none'})`;
      }
      return (req) => {
        try {
          const value = attribute(req);
          return typeof value === 'string' ? value : undefined;
        } catch {
          return undefined;
        }
      };
    }
  }
}
