import { loadDetections, type LoadProblem, type LoadReport } from './loader.js';
import { dryRunSqlDetections } from './sql-check.js';
import { errorsReason, typeCheckDetections } from './typecheck.js';

const problem = (path: string, what: string, errors: string[]): LoadProblem => ({
  path,
  reason: errorsReason(errors, what),
  unsupported: false,
  details: errors,
});

/**
 * Checks detection files more deeply than loading them (what `vigil detections validate` does):
 * TypeScript modules are type-checked against the published types, SQL detections run once on an
 * empty store with the control plane's schema. A file with errors moves from the loaded ones to the
 * problems, with every error it has (a file that did not load may have a second problem: its type errors).
 */
export async function checkDetections(paths: string[]): Promise<LoadReport> {
  const report = await loadDetections(paths);
  // Files that did not load are checked too (their type errors usually say why), except those
  // TypeScript could not parse, whose errors are already listed.
  const isTs = (path: string) => /\.m?ts$/.test(path);
  const tsFiles = [
    ...report.detections.filter((d) => d.source === 'typescript' && isTs(d.origin)).map((d) => d.origin),
    ...report.problems.filter((p) => isTs(p.path) && !p.details).map((p) => p.path),
  ];
  const typeErrors = typeCheckDetections(tsFiles);
  const sqlErrors = await dryRunSqlDetections(report.sql);
  const problems = report.problems.flatMap((p) => {
    const errors = p.details ? [] : (typeErrors.get(p.path) ?? []);
    return errors.length > 0 ? [p, problem(p.path, 'type', errors)] : [p];
  });
  const detections = report.detections.filter((d) => {
    const errors = typeErrors.get(d.origin) ?? [];
    if (errors.length > 0) problems.push(problem(d.origin, 'type', errors));
    return errors.length === 0;
  });
  const sql = report.sql.filter((d) => {
    const errors = sqlErrors.get(d.id) ?? [];
    if (errors.length > 0) problems.push(problem(d.origin, 'SQL', errors));
    return errors.length === 0;
  });
  return { detections, sql, problems, disabled: report.disabled };
}
