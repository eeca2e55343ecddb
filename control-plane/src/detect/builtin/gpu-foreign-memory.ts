import { defineDetection } from '../define.js';
import { exeOf } from '../argv.js';

const EXPECTED_PROFILERS = ['nsys', 'ncu', 'cuda-gdb', 'nv-nsight-cu-cli', 'dcgmi', 'nv-hostengine'];

export const gpuForeignMemoryAccess = defineDetection({
  id: 'gpu.foreign-memory-access',
  title: 'GPU memory of another process read or written',
  severity: 'high',
  mitre: ['T1005', 'T1055'],
  on: ['gpu'],
  description: "UVM tools calls that read or write another process's GPU memory, by anything but a known profiler.",
  match(ev) {
    if (ev.gpu.name !== 'UVM_TOOLS_READ_PROCESS_MEMORY' && ev.gpu.name !== 'UVM_TOOLS_WRITE_PROCESS_MEMORY')
      return null;
    if (EXPECTED_PROFILERS.includes(ev.proc.comm)) return null;
    return {
      reason: `${exeOf(ev) || ev.proc.comm} (pid ${ev.proc.pid}) called ${ev.gpu.name} on ${ev.gpu.device}${ev.gpu.count > 1 ? ` ${ev.gpu.count} times` : ''}`,
    };
  },
});
