import { Command, Errors, type Interfaces } from '@oclif/core';
import { apiTarget, type ApiTarget } from './services/api-client.js';
import { apiFlag, apiTlsFlags } from './services/flags.js';

/** The exit code an error asks for: oclif's (2 for a usage error), else 1. */
function exitCodeOf(err: unknown): number {
  const e = err as { oclif?: { exit?: number }; exitCode?: number };
  return e.oclif?.exit ?? e.exitCode ?? 1;
}

/**
 * An error as a command reports it: oclif's own (usage errors, this.error) as they are; any other
 * (the API refused, is unreachable, a file does not load) as its message and exit 1.
 */
function reportable(err: Error): Error {
  return 'oclif' in err ? err : new Errors.CLIError(err, { exit: 1 });
}

/**
 * The base of every command that reports to a user: it owns how a failure is told. Without --json,
 * `Error: <message>` on stderr and exit 1 (a usage error: its own code). Under --json a failure is one
 * line on stdout, `{"error": "<message>"}`, with the error's exit code and nothing on stderr, so that
 * a consumer reading stdout (one JSON value, or one per line with --follow) always reads JSON.
 */
export abstract class VigilCommand extends Command {
  protected override toErrorJson(err: unknown): { error: string } {
    return { error: err instanceof Error ? err.message : String(err) };
  }

  protected override async catch(err: Error & { exitCode?: number }): Promise<unknown> {
    if (!this.jsonEnabled()) return super.catch(reportable(err));
    process.exitCode = exitCodeOf(err);
    process.stdout.write(`${JSON.stringify(this.toErrorJson(err))}\n`);
    return undefined;
  }
}

export type ApiFlags<T extends typeof Command> = Interfaces.InferredFlags<
  (typeof ApiCommand)['baseFlags'] & T['flags']
>;
export type ApiArgs<T extends typeof Command> = Interfaces.InferredArgs<T['args']>;

/**
 * The base of the commands that read the control plane's API: --api, its flags and arguments parsed
 * once (`this.flags`, `this.args`), and `this.api()`, the API they name.
 */
export abstract class ApiCommand<T extends typeof Command> extends VigilCommand {
  static override baseFlags = { api: apiFlag, ...apiTlsFlags };

  protected flags!: ApiFlags<T>;
  protected args!: ApiArgs<T>;

  public override async init(): Promise<void> {
    await super.init();
    const { flags, args } = await this.parse({
      flags: this.ctor.flags,
      baseFlags: (super.ctor as typeof ApiCommand).baseFlags,
      enableJsonFlag: this.ctor.enableJsonFlag,
      args: this.ctor.args,
      strict: this.ctor.strict,
    });
    this.flags = flags as ApiFlags<T>;
    this.args = args as ApiArgs<T>;
  }

  /** The API this command reads (--api, else VIGIL_API, else the default) and its token. */
  protected api(): ApiTarget {
    return apiTarget(this.flags.api, {
      ca: this.flags.ca,
      cert: this.flags['client-cert'],
      key: this.flags['client-key'],
    });
  }
}
