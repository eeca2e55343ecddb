// Detection engine throughput: the built-ins plus the vendored SigmaHQ Linux rules over exec and
// connect events, as the control plane runs them after each insert. Usage: node bench/detect.mjs [N]
import { fileURLToPath } from 'node:url';
import { builtinEngine, exec, connect } from '../control-plane/dist/detect/testing.js';
import { loadDetections } from '../control-plane/dist/detect/custom/loader.js';

const N = Number(process.argv[2] ?? 50_000);
const { engine } = builtinEngine();
const sigma = await loadDetections([fileURLToPath(new URL('../rules/sigma-linux/', import.meta.url))]);
engine.setDetections([...engine.list(), ...sigma.detections]);
const argvs = [['python3', 'train.py', '--config', 'configs/llm-7b.yaml'], ['git', 'status'], ['/bin/sh', '-c', 'nvidia-smi --query-gpu=utilization.gpu --format=csv'], ['curl', '-sS', 'https://pypi.org/simple/torch/']];
const events = Array.from({ length: N }, (_, i) => (i % 5 === 4 ? connect(`10.0.${i % 250}.${i % 200}`, 443) : exec(argvs[i % argvs.length])));
const t0 = performance.now();
for (let i = 0; i < N; i += 2000) engine.process(events.slice(i, i + 2000));
const secs = (performance.now() - t0) / 1000;
console.log(JSON.stringify({ events: N, detections: engine.list().length, eventsPerSec: N / secs, usPerEvent: (secs * 1e6) / N }, null, 2));
