import type { AlertV1, EventV1 } from '@vigil/schema';
import { basename } from './argv.js';
import { imageOf, type AnyDetection } from './define.js';

export interface LoadedDetection {
  detection: AnyDetection;
  source: AlertV1['source'];
  author: string | null;
  /** Where it came from (a file), for reports. */
  origin: string;
}

interface KindIndex {
  always: LoadedDetection[];
  byImage: Map<string, LoadedDetection[]>;
}

/**
 * The detections an event meets, looked up by its kind and its image's basename. Per event kind it
 * holds the detections that see every event and, for each image basename some detection declared
 * (`images`), the detections an exec of that image meets (those plus the declared ones). Every list is
 * in load order, so alerts come out in the order the detections were loaded.
 */
export class ImageIndex {
  private detections = new Map<string, LoadedDetection>();
  private byKind = new Map<string, KindIndex>();

  /** Replaces what it holds; a later detection with an id already seen replaces the earlier. */
  set(list: readonly LoadedDetection[]): void {
    this.detections = new Map(list.map((d) => [d.detection.id, d]));
    this.byKind = new Map();
    for (const d of this.detections.values()) {
      for (const kind of d.detection.on) this.add(this.kindIndex(kind), d);
    }
  }

  list(): LoadedDetection[] {
    return [...this.detections.values()];
  }

  /** The detections an event meets, in load order. */
  candidates(ev: EventV1): readonly LoadedDetection[] {
    const k = this.byKind.get(ev.kind);
    if (!k) return [];
    if (k.byImage.size === 0) return k.always;
    return k.byImage.get(basename(imageOf(ev)).toLowerCase()) ?? k.always;
  }

  private kindIndex(kind: string): KindIndex {
    let k = this.byKind.get(kind);
    if (!k) this.byKind.set(kind, (k = { always: [], byImage: new Map() }));
    return k;
  }

  private add(k: KindIndex, d: LoadedDetection): void {
    // In load order: a name first declared here starts from the detections that see everything so far.
    if (!d.detection.images) {
      k.always.push(d);
      for (const l of k.byImage.values()) l.push(d);
      return;
    }
    for (const name of new Set(d.detection.images)) {
      let l = k.byImage.get(name);
      if (!l) k.byImage.set(name, (l = [...k.always]));
      l.push(d);
    }
  }
}
