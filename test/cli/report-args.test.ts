/** `keywarden report`'s command line: defaults, and each bad value beside a good twin. */

import { describe, expect, it } from 'vitest';
import { parseCommandLine } from '../../functions/cli/args.ts';

const parse = (argv: string[]) => parseCommandLine(['report', ...argv], {}, false);

describe('parseCommandLine report', () => {
  it('defaults to HTML on stdout over the last 30 days of the caller’s account', () => {
    expect(parse([])).toEqual({
      kind: 'report',
      options: {
        format: 'html',
        output: undefined,
        sinceDays: 30,
        profile: undefined,
        region: undefined,
        members: undefined,
      },
    });
  });

  it.each([
    { argv: ['--format', 'csv'], expected: { format: 'csv' } },
    { argv: ['--format', 'ocsf', '-o', 'out.jsonl'], expected: { format: 'ocsf', output: 'out.jsonl' } },
    { argv: ['--since', '1'], expected: { sinceDays: 1 } },
    { argv: ['--since', '365'], expected: { sinceDays: 365 } },
    {
      argv: ['--accounts', '111122223333,444455556666', '--role-name', 'KeyWardenMember'],
      expected: {
        members: {
          from: 'accounts',
          accountIds: ['111122223333', '444455556666'],
          roleName: 'KeyWardenMember',
        },
      },
    },
    {
      argv: ['--organization', '--role-name', 'KeyWardenMember'],
      expected: { members: { from: 'organization', roleName: 'KeyWardenMember' } },
    },
    {
      argv: ['--organization', '--ous', 'ou-ab12-cd34ef56', '--role-name', 'KeyWardenMember'],
      expected: {
        members: { from: 'organization', roleName: 'KeyWardenMember', ous: ['ou-ab12-cd34ef56'] },
      },
    },
  ])('accepts $argv', ({ argv, expected }) => {
    const command = parse(argv);

    expect(command.kind).toBe('report');
    expect(command.kind === 'report' ? command.options : undefined).toMatchObject(expected);
  });

  it.each([
    { argv: ['--format', 'table'], message: '--format "table" is not allowed; use html, csv, json, ocsf' },
    {
      argv: ['--since', '0'],
      message: '--since "0" is not allowed; use a whole number of days from 1 to 365',
    },
    { argv: ['--since', '366'], message: '--since "366" is not allowed' },
    { argv: ['--since', '7d'], message: '--since "7d" is not allowed' },
    { argv: ['--output', ' '], message: '--output needs a value' },
    { argv: ['--accounts', '111122223333'], message: '--accounts needs --role-name NAME' },
    { argv: ['--accounts', '1234', '--role-name', 'R'], message: '"1234" is not a 12-digit account id' },
    { argv: ['--role-name', 'R'], message: '--role-name goes with --accounts or --organization' },
    {
      argv: ['--organization', '--ous', 'ou-x', '--role-name', 'R'],
      message: '"ou-x" is not an organizational unit id',
    },
    { argv: ['--ous', 'ou-ab12-cd34ef56'], message: '--ous goes with --organization' },
    { argv: ['extra'], message: 'unexpected argument "extra"' },
    { argv: ['--remediate'], message: "unknown option '--remediate' for keywarden report" },
    { argv: ['--region', 'mars-1'], message: '--region "mars-1" is not an AWS region code' },
  ])('refuses $argv', ({ argv, message }) => {
    const command = parse(argv);

    expect(command.kind).toBe('usage-error');
    expect(command.kind === 'usage-error' ? command.message : '').toContain(message);
  });

  it('shows its own help', () => {
    expect(parse(['--help'])).toEqual({ kind: 'report-help' });
  });
});
