/** `keywarden coverage`'s command line: defaults, and each bad value beside a good twin. */

import { describe, expect, it } from 'vitest';
import { COMMANDS, parseCommandLine } from '../../functions/cli/args.ts';
import { COVERAGE_HELP } from '../../functions/cli/coverage.ts';

const parse = (argv: string[], tty = false) => parseCommandLine(['coverage', ...argv], {}, tty);
const BUS = 'arn:aws:events:us-east-1:123456789012:event-bus/keywarden-organization';

describe('parseCommandLine coverage', () => {
  it('defaults to the caller’s account, JSON off a terminal, no bus and no canary table', () => {
    expect(parse([])).toEqual({
      kind: 'coverage',
      options: {
        format: 'json',
        busArn: undefined,
        canaryTable: undefined,
        profile: undefined,
        region: undefined,
        members: undefined,
      },
    });
  });

  it.each([
    { argv: [], tty: true, expected: { format: 'table' } },
    { argv: ['--format', 'json'], tty: true, expected: { format: 'json' } },
    { argv: ['--bus', BUS], tty: false, expected: { busArn: BUS } },
    {
      argv: ['--bus', 'arn:aws-us-gov:events:us-gov-west-1:123456789012:event-bus/central'],
      tty: false,
      expected: { busArn: 'arn:aws-us-gov:events:us-gov-west-1:123456789012:event-bus/central' },
    },
    {
      argv: ['--canary-table', 'keywarden-canary'],
      tty: false,
      expected: { canaryTable: 'keywarden-canary' },
    },
    {
      argv: ['--region', 'eu-west-1', '--profile', 'ops'],
      tty: false,
      expected: { region: 'eu-west-1', profile: 'ops' },
    },
    {
      argv: ['--accounts', '111122223333,444455556666', '--role-name', 'KeyWardenMember'],
      tty: false,
      expected: {
        members: {
          from: 'accounts',
          accountIds: ['111122223333', '444455556666'],
          roleName: 'KeyWardenMember',
        },
      },
    },
    {
      argv: ['--organization', '--ous', 'ou-ab12-cd34ef56,r-ab12', '--role-name', 'KeyWardenMember'],
      tty: false,
      expected: {
        members: { from: 'organization', roleName: 'KeyWardenMember', ous: ['ou-ab12-cd34ef56', 'r-ab12'] },
      },
    },
  ])('accepts $argv (terminal: $tty)', ({ argv, tty, expected }) => {
    const command = parse(argv, tty);

    expect(command.kind).toBe('coverage');
    expect(command.kind === 'coverage' ? command.options : undefined).toMatchObject(expected);
  });

  it.each([
    { argv: ['--format', 'html'], message: '--format "html" is not allowed; use table or json' },
    {
      argv: ['--bus', 'arn:aws:sqs:us-east-1:123456789012:queue'],
      message:
        '--bus "arn:aws:sqs:us-east-1:123456789012:queue" is not an event bus ARN (arn:<partition>:events:<region>:<account>:event-bus/<name>)',
    },
    { argv: ['--bus', ''], message: '--bus needs a value' },
    {
      argv: ['--canary-table', 'a b'],
      message: '--canary-table "a b" is not a DynamoDB table name (3-255 letters, digits and _.-)',
    },
    { argv: ['--canary-table', ' '], message: '--canary-table needs a value' },
    {
      argv: ['--region', 'mars-1'],
      message: expect.stringContaining('--region "mars-1" is not an AWS region code'),
    },
    {
      argv: ['--accounts', '111122223333'],
      message: expect.stringContaining('--accounts needs --role-name NAME'),
    },
    {
      argv: ['--ous', 'ou-ab12-cd34ef56'],
      message: expect.stringContaining('--ous goes with --organization'),
    },
    {
      argv: ['--role-name', 'KeyWardenMember'],
      message: '--role-name goes with --accounts or --organization',
    },
    { argv: ['--yes'], message: "unknown option '--yes' for keywarden coverage" },
    { argv: ['extra'], message: 'unexpected argument "extra"' },
  ])('refuses $argv', ({ argv, message }) => {
    expect(parse(argv)).toEqual({ kind: 'usage-error', message });
  });

  it('answers --help with its own help, which names every option and the exit codes', () => {
    expect(parse(['--help'])).toEqual({ kind: 'coverage-help' });
    expect(COMMANDS.coverage.help).toBe(COVERAGE_HELP);
    expect(COVERAGE_HELP).toMatch(/^ +1 +an account is not covered/m);
  });
});
