/** Everything the sensor counts; reported in each heartbeat. Nothing is dropped without a count. */
export class Counters {
  recordsRead = 0;
  eventsBuilt = 0;
  eventsPublished = 0;
  eventsDropped = 0;
  lostEvents = 0;
  readonly rejects = new Map<string, number>();

  reject(reason: string, n = 1): void {
    this.rejects.set(reason, (this.rejects.get(reason) ?? 0) + n);
  }

  rejectsObject(): Record<string, number> {
    return Object.fromEntries(this.rejects);
  }
}
