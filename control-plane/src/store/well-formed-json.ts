/**
 * A lone surrogate as JSON.stringify writes it (`\udXXX`). ClickHouse refuses such an escape: a JSON
 * input format fails the whole insert ("missing second part of surrogate pair"), which the control
 * plane retries, holding up everything behind it; JSONExtract refuses the whole document. Only a
 * hostile or broken producer sends one (the sensor writes invalid UTF-8 as U+FFFD). An escaped
 * backslash before `ud8…` matches too; that only costs the slower path below.
 */
const LONE_SURROGATE = /\\ud[89a-f][0-9a-f]{2}/;

const wellFormed = (_key: string, v: unknown): unknown =>
  typeof v === 'string' ? (v as string & { toWellFormed(): string }).toWellFormed() : v;

/** JSON text of a value, every lone surrogate in its strings made U+FFFD. */
export function wellFormedJson(value: unknown): string {
  const json = JSON.stringify(value);
  return LONE_SURROGATE.test(json) ? JSON.stringify(value, wellFormed) : json;
}

/** The value itself when its strings are well formed; otherwise a copy with U+FFFD for lone surrogates. */
export function wellFormedValue<T>(value: T): T {
  const json = JSON.stringify(value);
  return LONE_SURROGATE.test(json) ? (JSON.parse(JSON.stringify(value, wellFormed)) as T) : value;
}
