/** The command line of `npm run demo` and `npm run bench`: `--help`, and a usage error for what they do not take. */

import { type OptionTable, type ParsedOptions, parseOptions } from '../../functions/cli/options.ts';

/** sysexits.h EX_USAGE, as the `keywarden` CLI uses. */
export const USAGE_EXIT = 64;

export type ScriptArgs<V> =
  | { readonly kind: 'help' }
  | { readonly kind: 'usage-error'; readonly message: string }
  | { readonly kind: 'run'; readonly values: V };

const HELP_OPTION = { help: { type: 'boolean', short: 'h' } } as const;

/** The values parseArgs reads for `T`. */
export type OptionValues<T extends OptionTable> = ParsedOptions<T>['values'];

/**
 * Reads `argv` (without node and the script) against `options`; a positional argument, or a value `check` refuses,
 * is a usage error, even beside `--help`, so that a help which runs nothing does not hide a mistake.
 */
export function readScriptArgs<const T extends OptionTable>(
  argv: readonly string[],
  options: T,
  program: string,
  check: (values: OptionValues<T>) => string | undefined = () => undefined,
): ScriptArgs<OptionValues<T>> {
  const parsed = parseOptions(argv, { ...options, ...HELP_OPTION }, program);
  if (typeof parsed === 'string') return { kind: 'usage-error', message: parsed };
  const [extra] = parsed.positionals;
  if (extra !== undefined)
    return {
      kind: 'usage-error',
      message: `unexpected argument ${JSON.stringify(extra)} for ${program}`,
    };
  const problem = check(parsed.values);
  if (problem !== undefined) return { kind: 'usage-error', message: problem };
  if ((parsed.values as { help?: boolean }).help) return { kind: 'help' };
  return { kind: 'run', values: parsed.values };
}

/** A value of a comma list that is not among `allowed`, as a usage message; undefined when all are allowed. */
export function unknownListValue(
  option: string,
  values: readonly string[],
  allowed: readonly string[],
): string | undefined {
  const unknown = values.find((value) => !allowed.includes(value));
  return unknown === undefined
    ? undefined
    : `--${option}: unknown value ${JSON.stringify(unknown)}; use one or more of ${allowed.join(', ')}, comma-separated`;
}

/** Prints the help (exit 0) or the usage error (exit 64) and ends the process; returns the values to run with. */
export function valuesOrExit<V>(args: ScriptArgs<V>, program: string, usage: string): V {
  if (args.kind === 'run') return args.values;
  if (args.kind === 'help') {
    process.stdout.write(usage);
    process.exit(0);
  }
  process.stderr.write(`${program}: ${args.message}\nRun ${program} -- --help for the options.\n`);
  process.exit(USAGE_EXIT);
}
