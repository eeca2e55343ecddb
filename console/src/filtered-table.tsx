import type { ComponentChildren, HTMLAttributes } from 'preact';
import { useState } from 'preact/hooks';
import { queryString } from './api.js';
import { type Loaded, useApi } from './hooks.js';
import { ErrorBox, nsAgo } from './ui.js';

/** A filter: a text box, or a choice of [value, label] pairs. */
export interface FilterField<K extends string> {
  name: K;
  label: string;
  choices?: readonly (readonly [string, string])[];
  numeric?: boolean;
  size?: number;
}

export interface Column<T> {
  head: string;
  cell: (row: T) => ComponentChildren;
  mono?: boolean;
}

export interface FilteredTableProps<K extends string, T> {
  /** The list's API path; the filters, `sinceNs` (from a `since` filter in seconds) and `limit` go in its query. */
  path: string;
  fields: readonly FilterField<K>[];
  initial: Record<K, string>;
  /** Where the answer's rows are. */
  rows: (data: unknown) => T[];
  columns: readonly Column<T>[];
  /** Attributes of each row (data-*, a click). */
  rowProps?: (row: T) => HTMLAttributes<HTMLTableRowElement> & Record<`data-${string}`, string | number>;
  /** Said when nothing matches. */
  empty: string;
  testId?: string;
  /** Told the filters as they are applied (to keep them in the page's address). */
  onApply?: (form: Record<K, string>) => void;
  /** Read again whenever one of these changes (the live tick). */
  deps?: unknown[];
  limit?: number;
}

/** A list the API filters: the filter form, its error, the table of what matches, "none" when empty. */
export function FilteredTable<K extends string, T>(p: FilteredTableProps<K, T>) {
  const [form, setForm] = useState<Record<K, string>>(p.initial);
  const [applied, setApplied] = useState<Record<K, string>>(p.initial);
  const { since, ...rest } = applied as Record<string, string>;
  const list: Loaded<unknown> = useApi<unknown>(
    `${p.path}${queryString({ ...rest, sinceNs: since ? nsAgo(Number(since)) : undefined, limit: p.limit ?? 500 })}`,
    p.deps ?? [],
  );
  const found = list.data ? p.rows(list.data) : [];
  const bind = (name: K) => ({
    name,
    id: `filter-${name}`,
    value: form[name],
    onInput: (e: Event) => setForm({ ...form, [name]: (e.currentTarget as HTMLInputElement).value }),
  });
  return (
    <>
      <form
        class="filters"
        onSubmit={(e) => {
          e.preventDefault();
          p.onApply?.(form);
          setApplied(form);
        }}
      >
        {p.fields.map((f) => (
          <label for={`filter-${f.name}`}>
            {f.label}
            {f.choices ? (
              <select {...bind(f.name)}>
                {f.choices.map(([value, label]) => (
                  <option value={value}>{label}</option>
                ))}
              </select>
            ) : (
              <input {...bind(f.name)} inputMode={f.numeric ? 'numeric' : undefined} size={f.size} />
            )}
          </label>
        ))}
        <button type="submit">Filter</button>
      </form>
      <ErrorBox error={list.error} />
      <table data-testid={p.testId}>
        <thead>
          <tr>
            {p.columns.map((c) => (
              <th>{c.head}</th>
            ))}
          </tr>
        </thead>
        <tbody>
          {found.map((row) => (
            <tr {...p.rowProps?.(row)}>
              {p.columns.map((c) => (
                <td class={c.mono ? 'mono' : undefined}>{c.cell(row)}</td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
      {list.data && found.length === 0 ? <p class="muted">{p.empty}</p> : null}
    </>
  );
}
