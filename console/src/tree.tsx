import type { TreeNodeV1 } from '@vigil/schema';

/** An incident's tree node, or one the console puts together from events, where the user may be unknown. */
export type TreeNode = Omit<TreeNodeV1, 'uid'> & { uid: number | null };
import { useMemo, useState } from 'preact/hooks';

/** Trees up to this size open whole; larger ones open only the branches that lead to involved processes. */
const OPEN_WHOLE = 200;
/** Children shown at once under one process; the rest behind "show more". */
const PAGE = 50;

interface Branch {
  node: TreeNode;
  children: Branch[];
  /** It or a descendant is involved. */
  leadsIn: boolean;
  size: number;
}

/** Birth order, then pid. */
const byStart = (x: Branch, y: Branch): number => {
  const a = x.node.startTs ?? '';
  const b = y.node.startTs ?? '';
  return a.length !== b.length ? a.length - b.length : a < b ? -1 : a > b ? 1 : x.node.pid - y.node.pid;
};

const key = (n: { pid: number; startTs: string | null }) => `${n.pid}@${n.startTs ?? ''}`;

/** Parent-child branches from a flat list (a parent is the newest earlier process with its pid). */
export function branches(nodes: TreeNode[]): Branch[] {
  const byPid = new Map<number, TreeNode[]>();
  for (const n of nodes) {
    const same = byPid.get(n.pid);
    if (same) same.push(n);
    else byPid.set(n.pid, [n]);
  }
  const made = new Map<string, Branch>(nodes.map((n) => [key(n), { node: n, children: [], leadsIn: false, size: 1 }]));
  const roots: Branch[] = [];
  for (const n of nodes) {
    const b = made.get(key(n)) as Branch;
    const parents = (byPid.get(n.ppid) ?? []).filter((p) => p !== n && (p.startTs ?? '') <= (n.startTs ?? '~'));
    const parent = parents.sort((x, y) => ((x.startTs ?? '') < (y.startTs ?? '') ? 1 : -1))[0];
    const pb = parent && n.ppid !== n.pid ? made.get(key(parent)) : undefined;
    if (pb) pb.children.push(b);
    else roots.push(b);
  }
  const finish = (b: Branch): void => {
    b.children.sort(byStart);
    for (const c of b.children) finish(c);
    b.leadsIn = b.node.involved || b.children.some((c) => c.leadsIn);
    b.size = 1 + b.children.reduce((s, c) => s + c.size, 0);
  };
  for (const r of roots) finish(r);
  return roots;
}

function Node({ b, openWhole, path }: { b: Branch; openWhole: boolean; path: string }) {
  const n = b.node;
  const [open, setOpen] = useState(openWhole || b.leadsIn);
  const [shown, setShown] = useState(PAGE);
  return (
    <li data-pid={n.pid} data-exe={n.exe} data-path={path}>
      {b.children.length > 0 ? (
        <button
          type="button"
          class="quiet"
          aria-expanded={open}
          onClick={() => setOpen(!open)}
          title={open ? 'collapse' : 'expand'}
        >
          {open ? '▾' : '▸'} {open ? '' : `${b.size - 1} processes`}
        </button>
      ) : null}
      <details class={`node${n.involved ? ' involved' : ''}`} open={n.involved}>
        <summary>
          <b>{n.pid}</b> <code>{n.exe}</code> <span class="mono muted">{n.argv.slice(1).join(' ').slice(0, 120)}</span>
          {n.alerts.length ? <span class="sev-high"> · {n.alerts.length} alert(s)</span> : null}
        </summary>
        <dl>
          <dt>exe</dt>
          <dd class="mono">{n.exe}</dd>
          <dt>argv</dt>
          <dd class="mono">{JSON.stringify(n.argv)}</dd>
          <dt>user</dt>
          <dd>{n.uid === null ? '—' : `uid ${n.uid}`}</dd>
          <dt>cwd</dt>
          <dd class="mono">{n.cwd ?? '—'}</dd>
          <dt>stdio</dt>
          <dd class="mono">{n.stdio.length ? n.stdio.join(', ') : '—'}</dd>
          <dt>sha256</dt>
          <dd class="mono">{n.exeHash ?? '—'}</dd>
          <dt>parent</dt>
          <dd>{n.ppid}</dd>
        </dl>
      </details>
      {open && b.children.length > 0 ? (
        <ul>
          {b.children.slice(0, shown).map((c) => (
            <Node key={key(c.node)} b={c} openWhole={openWhole} path={`${path}/${c.node.pid}`} />
          ))}
          {b.children.length > shown ? (
            <li>
              <button type="button" onClick={() => setShown(shown + PAGE * 4)}>
                show more ({b.children.length - shown} of {b.children.length} children hidden)
              </button>
            </li>
          ) : null}
        </ul>
      ) : null}
    </li>
  );
}

/**
 * The process tree as nested boxes: involved processes marked, each with its exe, argv, user, cwd,
 * stdio and hash; large trees collapsed except the branches leading to involved processes.
 */
export function ProcessTree({ nodes, truncated }: { nodes: TreeNode[]; truncated?: boolean }) {
  const roots = useMemo(() => branches(nodes), [nodes]);
  const openWhole = nodes.length <= OPEN_WHOLE;
  return (
    <div class="tree" data-nodes={nodes.length}>
      {openWhole ? null : (
        <p class="muted">
          {nodes.length.toLocaleString()} processes: collapsed except the branches that lead to involved ones.
        </p>
      )}
      {truncated ? <p class="muted">The tree was cut at the control plane's bound.</p> : null}
      <ul>
        {roots.slice(0, PAGE).map((r) => (
          <Node key={key(r.node)} b={r} openWhole={openWhole} path={`${r.node.pid}`} />
        ))}
      </ul>
      {roots.length > PAGE ? <p class="muted">{roots.length - PAGE} more top-level processes not shown.</p> : null}
    </div>
  );
}
