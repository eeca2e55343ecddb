/**
 * What a cgroup path says about where a process runs: its container (Docker, containerd, CRI-O,
 * Podman) and the scheduler job (Slurm job, Kubernetes pod) it belongs to.
 */
const CONTAINER_PATTERNS = [
  /(?:docker|cri-containerd|crio|libpod)-([0-9a-f]{64})\.scope/,
  /\/docker\/([0-9a-f]{64})(?:\/|$)/,
  /\/([0-9a-f]{64})(?:\/|$)/,
];

export function containerIdOf(cgroup: string): string | null {
  for (const re of CONTAINER_PATTERNS) {
    const m = re.exec(cgroup);
    if (m) return m[1]!;
  }
  return null;
}

export function jobOf(cgroup: string): string | null {
  const slurm = /\/job_(\d+)(?:\/|$)/.exec(cgroup);
  if (slurm) return `slurm:${slurm[1]}`;
  const pod = /kubepods[^/]*\/(?:[^/]*\/)?[^/]*pod([0-9a-f_-]{36})/.exec(cgroup);
  if (pod) return `k8s-pod:${pod[1]!.replace(/_/g, '-')}`;
  return null;
}
