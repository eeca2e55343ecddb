import type { AncestorV1, EventV1 } from '@vigil/schema';

/**
 * JSON of an ancestor, kept for as long as the ancestor object lives. The process cache hands out one
 * object per process image, so siblings (an exec storm's children, a job's workers) share their
 * parents' encodings: an event's chain of ancestors, most of its bytes, is joined instead of
 * stringified again for every event.
 */
const ancestorJson = new WeakMap<AncestorV1, string>();

function encodeAncestor(a: AncestorV1): string {
  let json = ancestorJson.get(a);
  if (json === undefined) {
    json = JSON.stringify(a);
    ancestorJson.set(a, json);
  }
  return json;
}

/**
 * The event as JSON, parsing back to the same value as `JSON.stringify(ev)` (the process object comes
 * last instead of in the middle; key order carries no meaning in the contract).
 */
export function encodeEvent(ev: EventV1): string {
  const { proc, ...rest } = ev;
  const { ancestry, ...self } = proc;
  const head = JSON.stringify(rest);
  const procHead = JSON.stringify(self);
  let chain = '';
  for (let i = 0; i < ancestry.length; i++) chain += (i === 0 ? '' : ',') + encodeAncestor(ancestry[i]!);
  // Both heads are non-empty objects: dropping their closing brace leaves room for one more member.
  return `${head.slice(0, -1)},"proc":${procHead.slice(0, -1)},"ancestry":[${chain}]}}`;
}
