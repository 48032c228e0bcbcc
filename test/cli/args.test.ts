import { describe, expect, it } from 'vitest';
import { parseCommandLine, type ScanOptions } from '../../functions/cli/args.ts';

const scan = (argv: string[], env: Record<string, string> = {}, tty = false): ScanOptions => {
  const command = parseCommandLine(argv, env, tty);
  if (command.kind !== 'scan') throw new Error(`expected a scan, got ${JSON.stringify(command)}`);
  return command.options;
};

describe('parseCommandLine', () => {
  it('defaults to a read-only scan from the credential report', () => {
    expect(scan(['scan'])).toEqual({
      profile: undefined,
      region: undefined,
      format: 'json',
      source: 'credential-report',
      importFindings: false,
      remediationMode: 'off',
      keepKey: 'newest',
      exemptTag: 'keywarden:exempt',
      rotationGraceHours: 0,
      inUseHours: 24,
    });
  });

  it.each([
    { tty: true, format: 'table' },
    { tty: false, format: 'json' },
  ])('defaults to $format when stdout is a terminal: $tty', ({ tty, format }) => {
    expect(scan(['scan'], {}, tty).format).toBe(format);
  });

  it.each([
    { argv: ['scan', '--format', 'table'], field: 'format', value: 'table' },
    { argv: ['scan', '--format', 'json'], field: 'format', value: 'json' },
    { argv: ['scan', '--profile', 'audit'], field: 'profile', value: 'audit' },
    { argv: ['scan', '--region', 'eu-west-1'], field: 'region', value: 'eu-west-1' },
    { argv: ['scan', '--full'], field: 'source', value: 'full' },
    { argv: ['scan', '--import-findings'], field: 'importFindings', value: true },
    { argv: ['scan', '--remediate'], field: 'remediationMode', value: 'dry-run' },
    { argv: ['scan', '--remediate', '--yes'], field: 'remediationMode', value: 'deactivate' },
    { argv: ['scan', '--keep-key', 'last-used'], field: 'keepKey', value: 'last-used' },
    { argv: ['scan', '--exempt-tag', 'team:exempt'], field: 'exemptTag', value: 'team:exempt' },
    { argv: ['scan', '--rotation-grace-hours', '24'], field: 'rotationGraceHours', value: 24 },
    { argv: ['scan', '--in-use-hours', '0'], field: 'inUseHours', value: 0 },
    { argv: ['scan', '--in-use-hours', '72'], field: 'inUseHours', value: 72 },
  ])('reads $argv into $field', ({ argv, field, value }) => {
    expect(scan(argv)[field as keyof ScanOptions]).toBe(value);
  });

  it('takes KEEP_KEY, EXEMPT_TAG, ROTATION_GRACE_HOURS and SWEEP_SOURCE from the environment, flags first', () => {
    // Prepare
    const env = {
      KEEP_KEY: 'oldest',
      EXEMPT_TAG: 'ops:exempt',
      ROTATION_GRACE_HOURS: '12',
      SWEEP_SOURCE: 'full',
    };

    // Act
    const fromEnv = scan(['scan'], env);
    const fromFlags = scan(['scan', '--keep-key', 'newest', '--exempt-tag', 'x:y'], env);

    // Assess
    expect(fromEnv).toMatchObject({
      keepKey: 'oldest',
      exemptTag: 'ops:exempt',
      rotationGraceHours: 12,
      source: 'full',
    });
    expect(fromFlags).toMatchObject({ keepKey: 'newest', exemptTag: 'x:y', rotationGraceHours: 12 });
  });

  it.each([
    { case: 'no command', argv: [], message: /missing command/ },
    { case: 'an unknown command', argv: ['audit'], message: /unknown command "audit"/ },
    { case: 'an extra argument', argv: ['scan', 'now'], message: /unexpected argument "now"/ },
    { case: 'an unknown option', argv: ['scan', '--fast'], message: /--fast/ },
    {
      case: '--yes without --remediate',
      argv: ['scan', '--yes'],
      message: /--yes only confirms --remediate/,
    },
    {
      case: 'an unknown format',
      argv: ['scan', '--format', 'csv'],
      message: /--format "csv".*table or json/,
    },
    { case: 'an empty profile', argv: ['scan', '--profile', ''], message: /--profile needs a value/ },
    {
      case: 'a bad --keep-key',
      argv: ['scan', '--keep-key', 'first'],
      message: /^--keep-key "first" is not allowed/,
    },
    {
      case: 'a bad --rotation-grace-hours',
      argv: ['scan', '--rotation-grace-hours=-1'],
      message: /^--rotation-grace-hours "-1" is not allowed/,
    },
    { case: 'an aws: exempt tag', argv: ['scan', '--exempt-tag', 'aws:x'], message: /^--exempt-tag "aws:x"/ },
    {
      case: 'an --in-use-hours beyond 90 days',
      argv: ['scan', '--in-use-hours', '2161'],
      message: /^--in-use-hours "2161" is not allowed; use a whole number from 0 to 2160$/,
    },
    {
      case: 'a hexadecimal --rotation-grace-hours',
      argv: ['scan', '--rotation-grace-hours', '0x10'],
      message: /^--rotation-grace-hours "0x10" is not allowed; use a whole number from 0 to 2160$/,
    },
    {
      case: 'a blank --rotation-grace-hours',
      argv: ['scan', '--rotation-grace-hours', ' '],
      message: /^--rotation-grace-hours " " is not allowed; use a whole number from 0 to 2160$/,
    },
    {
      case: 'an empty --exempt-tag',
      argv: ['scan', '--exempt-tag', ''],
      message: /^--exempt-tag "" is not allowed; use an IAM tag key/,
    },
    {
      case: 'an empty --keep-key',
      argv: ['scan', '--keep-key='],
      message: /^--keep-key "" is not allowed; use one of: newest, oldest, last-used, auto$/,
    },
  ])('returns a usage error for $case', ({ argv, message }) => {
    // Act
    const command = parseCommandLine(argv, {}, false);

    // Assess
    expect(command.kind).toBe('usage-error');
    expect(command.kind === 'usage-error' && command.message).toMatch(message);
  });

  it('names the environment variable when the bad value came from it', () => {
    const command = parseCommandLine(['scan'], { KEEP_KEY: 'first' }, false);
    expect(command).toEqual({ kind: 'usage-error', message: expect.stringMatching(/^KEEP_KEY="first"/) });
  });

  it.each([
    { argv: ['--help'], kind: 'help' },
    { argv: ['-h'], kind: 'help' },
    { argv: ['scan', '--help'], kind: 'help' },
    { argv: ['--version'], kind: 'version' },
    { argv: ['-V'], kind: 'version' },
  ])('answers $argv with $kind', ({ argv, kind }) => {
    expect(parseCommandLine(argv, {}, false).kind).toBe(kind);
  });
});

describe('parseCommandLine: organization mode', () => {
  const A = '111122223333';
  const B = '444455556666';
  const ROLE = ['--role-name', 'KeyWardenMember'];

  it.each([
    {
      case: 'one account',
      valid: ['--accounts', A, ...ROLE],
      members: { from: 'accounts', accountIds: [A], roleName: 'KeyWardenMember' },
      invalid: ['--accounts', '11112222333', ...ROLE],
      message: '--accounts "11112222333": "11112222333" is not a 12-digit account id',
    },
    {
      case: 'a comma list, spaces trimmed and duplicates dropped, in the order given',
      valid: ['--accounts', `${B}, ${A},${B}`, ...ROLE],
      members: { from: 'accounts', accountIds: [B, A], roleName: 'KeyWardenMember' },
      invalid: ['--accounts', `${B},`, ...ROLE],
      message: `--accounts "${B},": "" is not a 12-digit account id`,
    },
    {
      case: '--accounts repeated',
      valid: ['--accounts', A, '--accounts', B, ...ROLE],
      members: { from: 'accounts', accountIds: [A, B], roleName: 'KeyWardenMember' },
      invalid: ['--accounts', A, '--accounts', 'prod', ...ROLE],
      message: '--accounts "prod": "prod" is not a 12-digit account id',
    },
    {
      case: 'the organization',
      valid: ['--organization', ...ROLE],
      members: { from: 'organization', roleName: 'KeyWardenMember' },
      invalid: ['--organization'],
      message:
        '--organization needs --role-name NAME, the member role KeyWarden is deployed with (e.g. KeyWardenMember)',
    },
    {
      case: 'accounts with their role',
      valid: ['--accounts', A, ...ROLE],
      members: { from: 'accounts', accountIds: [A], roleName: 'KeyWardenMember' },
      invalid: ['--accounts', A],
      message:
        '--accounts needs --role-name NAME, the member role KeyWarden is deployed with (e.g. KeyWardenMember)',
    },
    {
      case: 'a role name of every allowed character',
      valid: ['--organization', '--role-name', 'Key+Warden=,.@_-1'],
      members: { from: 'organization', roleName: 'Key+Warden=,.@_-1' },
      invalid: ['--organization', '--role-name', 'ops/KeyWarden'],
      message: '--role-name "ops/KeyWarden" is not an IAM role name (1 to 64 letters, digits and +=,.@_-)',
    },
    {
      case: 'a role name of 64 characters',
      valid: ['--organization', '--role-name', 'R'.repeat(64)],
      members: { from: 'organization', roleName: 'R'.repeat(64) },
      invalid: ['--organization', '--role-name', 'R'.repeat(65)],
      message: `--role-name "${'R'.repeat(65)}" is not an IAM role name (1 to 64 letters, digits and +=,.@_-)`,
    },
    {
      case: 'either --accounts or --organization',
      valid: ['--organization', ...ROLE],
      members: { from: 'organization', roleName: 'KeyWardenMember' },
      invalid: ['--organization', '--accounts', A, ...ROLE],
      message:
        '--accounts and --organization do not go together: name the accounts, or scan the organization',
    },
    {
      case: 'the organization under OUs, a comma list and repeated, duplicates dropped',
      valid: ['--organization', '--ous', 'ou-ab12-cd34ef56, r-ab12', '--ous', 'ou-ab12-cd34ef56', ...ROLE],
      members: { from: 'organization', roleName: 'KeyWardenMember', ous: ['ou-ab12-cd34ef56', 'r-ab12'] },
      invalid: ['--organization', '--ous', 'ou-ab12-cd34ef56,o-a1b2c3d4e5', ...ROLE],
      message:
        '--ous "ou-ab12-cd34ef56,o-a1b2c3d4e5": "o-a1b2c3d4e5" is not an organizational unit id (ou-ab12-cd34ef56: ou-, 4 to 32 and then 8 to 32 lower-case letters or digits) or the root id (r-ab12)',
    },
    {
      case: 'OUs of the organization only',
      valid: ['--organization', '--ous', 'ou-ab12-cd34ef56', ...ROLE],
      members: { from: 'organization', roleName: 'KeyWardenMember', ous: ['ou-ab12-cd34ef56'] },
      invalid: ['--accounts', A, '--ous', 'ou-ab12-cd34ef56', ...ROLE],
      message: '--ous goes with --organization: it chooses which accounts of the organization to read',
    },
    {
      case: 'no account selection and no role',
      valid: [],
      members: undefined,
      invalid: ['--role-name', 'KeyWardenMember'],
      message: '--role-name goes with --accounts or --organization',
    },
    {
      case: 'the plural --accounts (restore takes --account)',
      valid: ['--accounts', A, ...ROLE],
      members: { from: 'accounts', accountIds: [A], roleName: 'KeyWardenMember' },
      invalid: ['--account', A, ...ROLE],
      message: "unknown option '--account': scan takes --accounts ID[,ID...] (restore takes --account ID)",
    },
  ])('reads $case, and rejects its twin', ({ valid, members, invalid, message }) => {
    // Act
    const accepted = parseCommandLine(['scan', ...valid], {}, false);
    const rejected = parseCommandLine(['scan', ...invalid], {}, false);

    // Assess
    expect(accepted).toMatchObject({ kind: 'scan' });
    expect(accepted.kind === 'scan' && accepted.options.members).toEqual(members);
    expect(rejected).toEqual({ kind: 'usage-error', message });
  });

  it('keeps every other option, applied in each account', () => {
    // Act
    const options = scan([
      'scan',
      '--organization',
      ...ROLE,
      '--import-findings',
      '--remediate',
      '--yes',
      '--full',
    ]);

    // Assess
    expect(options).toMatchObject({
      members: { from: 'organization', roleName: 'KeyWardenMember' },
      importFindings: true,
      remediationMode: 'deactivate',
      source: 'full',
    });
  });
});

describe('parseCommandLine: what a user mistypes', () => {
  it.each([
    { argv: ['scan', '--bogus'], message: "unknown option '--bogus' for keywarden scan" },
    { argv: ['scan', '-x'], message: "unknown option '-x' for keywarden scan" },
    { argv: ['--bogus'], message: "unknown option '--bogus' for keywarden scan" },
    { argv: ['restore', 'alice', '--bogus'], message: "unknown option '--bogus' for keywarden restore" },
    { argv: ['scan', '--region'], message: '--region needs a value' },
    { argv: ['restore', 'alice', '--key'], message: '--key needs a value' },
    { argv: ['scan', '--full=yes'], message: '--full takes no value' },
  ])('names the option in one line for $argv', ({ argv, message }) => {
    // Act
    const command = parseCommandLine(argv, {}, false);

    // Assess
    expect(command).toEqual({ kind: 'usage-error', message });
  });

  it.each([
    { region: 'mars-1', allowed: false },
    { region: 'us-east', allowed: false },
    { region: 'US-EAST-1', allowed: false },
    { region: 'us-east-1', allowed: true },
    { region: 'eu-central-2', allowed: true },
    { region: 'cn-north-1', allowed: true },
    { region: 'us-gov-west-1', allowed: true },
    { region: 'us-isob-east-1', allowed: true },
  ])('accepts --region $region only when a partition has such regions: $allowed', ({ region, allowed }) => {
    // Act
    const scanned = parseCommandLine(['scan', '--region', region], {}, false);
    const restored = parseCommandLine(['restore', 'alice', '--region', region], {}, false);

    // Assess
    for (const command of [scanned, restored]) {
      if (allowed) expect(command.kind).not.toBe('usage-error');
      else
        expect(command).toEqual({
          kind: 'usage-error',
          message: `--region ${JSON.stringify(region)} is not an AWS region code (such as us-east-1, eu-west-1, cn-north-1 or us-gov-west-1)`,
        });
    }
  });
});
