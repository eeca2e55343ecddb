import { Command } from '@oclif/core';

/** The exit code an error asks for: oclif's (2 for a usage error), else 1. */
function exitCodeOf(err: unknown): number {
  const e = err as { oclif?: { exit?: number }; exitCode?: number };
  return e.oclif?.exit ?? e.exitCode ?? 1;
}

/**
 * The base of every command with `--json`: under --json a failure is one line on stdout,
 * `{"error": "<message>"}`, with the error's exit code and nothing on stderr, so that a consumer
 * reading stdout (one JSON value, or one per line with --follow) always reads JSON.
 */
export abstract class VigilCommand extends Command {
  protected override toErrorJson(err: unknown): { error: string } {
    return { error: err instanceof Error ? err.message : String(err) };
  }

  protected override async catch(err: Error & { exitCode?: number }): Promise<unknown> {
    if (!this.jsonEnabled()) return super.catch(err);
    process.exitCode = exitCodeOf(err);
    process.stdout.write(`${JSON.stringify(this.toErrorJson(err))}\n`);
    return undefined;
  }
}
