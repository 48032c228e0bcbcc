/** Command-line options read with node:util parseArgs, whose errors become one-line usage messages. */

import { type ParseArgsConfig, parseArgs } from 'node:util';
import { isRegionCode } from '../shared/constants.ts';

export type OptionTable = NonNullable<ParseArgsConfig['options']>;

/** What parseArgs reads from a command line with the options `T`. */
export type ParsedOptions<T extends OptionTable> = ReturnType<
  typeof parseArgs<{ args: string[]; options: T; strict: true; allowPositionals: true }>
>;

/** The options and positionals of `argv`, or a usage message naming the option and the program (`keywarden scan`). */
export function parseOptions<const T extends OptionTable>(
  argv: readonly string[],
  options: T,
  program: string,
): ParsedOptions<T> | string {
  try {
    return parseArgs({ args: [...argv], options, strict: true, allowPositionals: true });
  } catch (error) {
    return usageMessage(error, program);
  }
}

// node:util's messages give advice that does not apply here ("place it after '--'") and lose a quote.
function usageMessage(error: unknown, program: string): string {
  const { code, message } = error as { code?: string; message: string };
  const quoted = /'([^']*)'/.exec(message)?.[1] ?? '';
  // "-h, --help" or "--region <value>": the long form names the option.
  const name = quoted.split(/[ ,]+/).find((part) => part.startsWith('--')) ?? quoted.split(' ')[0];
  if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') return `unknown option '${quoted}' for ${program}`;
  if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE')
    return message.includes('argument missing') ? `${name} needs a value` : `${name} takes no value`;
  throw error;
}

/** A usage message for `--region`, or undefined when it is unset or a region code. */
export function regionProblem(region: string | undefined): string | undefined {
  if (region === undefined || isRegionCode(region)) return undefined;
  return `--region ${JSON.stringify(region)} is not an AWS region code (such as us-east-1, eu-west-1, cn-north-1 or us-gov-west-1)`;
}

/** A usage message for the first option given an empty value (`--profile ""`), or undefined. */
export function blankValueProblem(
  options: readonly (readonly [name: string, value: string | undefined])[],
): string | undefined {
  const blank = options.find(([, value]) => value !== undefined && value.trim() === '');
  return blank === undefined ? undefined : `${blank[0]} needs a value`;
}
