// Detection engine throughput: the built-ins plus the vendored SigmaHQ Linux rules over exec and
// connect events, as the control plane runs them after each insert; with the image index (Sigma rules
// that name their images are only run on those images) and without it, interleaved, in one run.
// Usage: node bench/detect.mjs [N] [REPS]
import { fileURLToPath } from 'node:url';
import { builtinEngine, exec, connect } from '../control-plane/dist/detect/testing.js';
import { loadDetections } from '../control-plane/dist/detect/custom/loader.js';

const N = Number(process.argv[2] ?? 50_000);
const REPS = Number(process.argv[3] ?? 5);
const sigma = await loadDetections([fileURLToPath(new URL('../rules/sigma-linux/', import.meta.url))]);
const indexed = [...builtinEngine().engine.list(), ...sigma.detections];
const flat = indexed.map((d) => ({ ...d, detection: { ...d.detection, images: undefined } }));
const argvs = [
  ['python3', 'train.py', '--config', 'configs/llm-7b.yaml'],
  ['git', 'status'],
  ['/bin/sh', '-c', 'nvidia-smi --query-gpu=utilization.gpu --format=csv'],
  ['curl', '-sS', 'https://pypi.org/simple/torch/'],
];
const events = Array.from({ length: N }, (_, i) =>
  i % 5 === 4 ? connect(`10.0.${i % 250}.${i % 200}`, 443) : exec(argvs[i % argvs.length]),
);

function run(list) {
  const { engine, alerts } = builtinEngine();
  engine.setDetections(list);
  const t0 = performance.now();
  for (let i = 0; i < N; i += 2000) engine.process(events.slice(i, i + 2000));
  return { us: ((performance.now() - t0) * 1000) / N, alerts: alerts.length };
}
const samples = { indexed: [], flat: [] };
let alerts = null;
for (let r = 0; r < REPS; r++) {
  for (const [name, list] of r % 2 === 0
    ? [
        ['indexed', indexed],
        ['flat', flat],
      ]
    : [
        ['flat', flat],
        ['indexed', indexed],
      ]) {
    const s = run(list);
    samples[name].push(s.us);
    if (alerts !== null && s.alerts !== alerts)
      throw new Error(`the index changed what fired: ${s.alerts} alerts vs ${alerts}`);
    alerts = s.alerts;
  }
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const usPerEvent = median(samples.indexed);
const flatUs = median(samples.flat);
console.log(
  JSON.stringify(
    {
      events: N,
      reps: REPS,
      detections: indexed.length,
      indexedSigma: sigma.detections.filter((d) => d.detection.images).length,
      sigma: sigma.detections.length,
      eventsPerSec: 1e6 / usPerEvent,
      usPerEvent,
      usPerEventRange: [Math.min(...samples.indexed), Math.max(...samples.indexed)],
      flatUsPerEvent: flatUs,
      flatUsRange: [Math.min(...samples.flat), Math.max(...samples.flat)],
      speedup: flatUs / usPerEvent,
      alerts,
    },
    null,
    2,
  ),
);
