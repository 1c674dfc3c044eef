// Lenient readers for Nacos response fields: servers differ in field types (numbers sent as
// strings, booleans as "true", absent lists as null), so every field is read through one of these.

/** A string field; numbers are stringified, anything else is `fallback`. */
export function str(value: unknown, fallback = ''): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  return fallback;
}

/** A numeric field, from a number or a numeric string; anything else is `fallback`. */
export function num(value: unknown, fallback: number): number {
  const parsed = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
  return typeof parsed === 'number' && Number.isFinite(parsed) ? parsed : fallback;
}

/** A boolean field, from a boolean or `"true"`/`"false"`; anything else is `fallback`. */
export function bool(value: unknown, fallback: boolean): boolean {
  if (typeof value === 'boolean') return value;
  if (value === 'true') return true;
  if (value === 'false') return false;
  return fallback;
}

/** A string map (Nacos metadata); non-string values are stringified or dropped. */
export function strMap(value: unknown): Record<string, string> {
  const result: Record<string, string> = {};
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return result;
  for (const [key, raw] of Object.entries(value)) {
    if (typeof raw === 'string') result[key] = raw;
    else if (typeof raw === 'number' || typeof raw === 'boolean') result[key] = String(raw);
  }
  return result;
}

/** A list field; `null` and absent lists are empty. */
export function list(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

/** An object field; anything else is `{}`. */
export function obj(value: unknown): Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}
