import { describe, expect, it } from 'vitest';
import { parseCommandLine } from '../../functions/cli/args.ts';
import {
  DEACTIVATED_KEYS_FIELD,
  describePlan,
  exemptUntil,
  planRestore,
  RESTORE_HELP,
  type RestoreOptions,
  RestoreRefusedError,
  restoreConfirmed,
} from '../../functions/cli/restore.ts';
import type { Finding } from '../../functions/core/finding.ts';
import type { AccessKey } from '../../functions/core/types.ts';
import { ACCOUNT, NEW_KEY, NOW, OLD_KEY, snapshot } from '../core/builders.ts';

const restoreOptions = (argv: string[], env: Record<string, string> = {}): RestoreOptions => {
  const command = parseCommandLine(argv, env, false);
  if (command.kind !== 'restore') throw new Error(`expected a restore, got ${JSON.stringify(command)}`);
  return command.options;
};

describe('parseCommandLine: restore', () => {
  it('defaults to a 7-day exemption with the default tag, as a dry run', () => {
    expect(restoreOptions(['restore', 'alice'])).toEqual({
      userName: 'alice',
      accessKeyId: undefined,
      exemptDays: 7,
      exemptTag: 'keywarden:exempt',
      yes: false,
      force: false,
      keywardenRoles: [],
      profile: undefined,
      region: undefined,
      member: undefined,
    });
  });

  it('reads --force with --key, and KeyWarden roles from --keywarden-roles, else KEYWARDEN_ROLE_ARNS', () => {
    const detector = 'arn:aws:iam::123456789012:role/KeyWarden-DetectorRole';
    const sweep = 'arn:aws:iam::123456789012:role/path/KeyWarden-SweepRole';
    expect(restoreOptions(['restore', 'alice', '--key', 'AKIAIOSFODNN7EXAMPLE', '--force']).force).toBe(true);
    expect(
      restoreOptions(['restore', 'alice', '--keywarden-roles', `${detector}, ${sweep}`]).keywardenRoles,
    ).toEqual([detector, sweep]);
    expect(restoreOptions(['restore', 'alice'], { KEYWARDEN_ROLE_ARNS: sweep }).keywardenRoles).toEqual([
      sweep,
    ]);
    expect(
      restoreOptions(['restore', 'alice', '--keywarden-roles', detector], { KEYWARDEN_ROLE_ARNS: sweep })
        .keywardenRoles,
    ).toEqual([detector]);
  });

  it('reads --account and --role-name into the member account to act in', () => {
    expect(
      restoreOptions(['restore', 'alice', '--account', '111122223333', '--role-name', 'KeyWardenMember'])
        .member,
    ).toEqual({ accountId: '111122223333', roleName: 'KeyWardenMember' });
  });

  it.each([
    { argv: ['restore', 'alice', '--yes'], field: 'yes', value: true },
    {
      argv: ['restore', 'alice', '--key', 'AKIAIOSFODNN7EXAMPLE'],
      field: 'accessKeyId',
      value: 'AKIAIOSFODNN7EXAMPLE',
    },
    { argv: ['restore', 'alice', '--exempt-days', '1'], field: 'exemptDays', value: 1 },
    { argv: ['restore', 'alice', '--exempt-days', '90'], field: 'exemptDays', value: 90 },
    { argv: ['restore', 'alice', '--exempt-tag', 'team:exempt'], field: 'exemptTag', value: 'team:exempt' },
    { argv: ['restore', 'alice', '--profile', 'prod'], field: 'profile', value: 'prod' },
    { argv: ['restore', 'alice', '--region', 'eu-west-1'], field: 'region', value: 'eu-west-1' },
    {
      argv: ['restore', 'svc.build+ci@x=y,z-1_', '--yes'],
      field: 'userName',
      value: 'svc.build+ci@x=y,z-1_',
    },
  ])('reads $argv into $field', ({ argv, field, value }) => {
    expect(restoreOptions(argv)[field as keyof RestoreOptions]).toBe(value);
  });

  it('takes EXEMPT_TAG from the environment, the flag first', () => {
    expect(restoreOptions(['restore', 'alice'], { EXEMPT_TAG: 'ops:exempt' }).exemptTag).toBe('ops:exempt');
    expect(
      restoreOptions(['restore', 'alice', '--exempt-tag', 'x:y'], { EXEMPT_TAG: 'ops:exempt' }).exemptTag,
    ).toBe('x:y');
  });

  it.each([
    { case: 'no user', argv: ['restore'], message: /needs a user name/ },
    { case: 'two users', argv: ['restore', 'alice', 'bob'], message: /unexpected argument "bob"/ },
    { case: 'a bad user name', argv: ['restore', 'al ice'], message: /not an IAM user name/ },
    {
      case: 'a user name over 64 characters',
      argv: ['restore', 'a'.repeat(65)],
      message: /not an IAM user name/,
    },
    {
      case: 'a bad key id',
      argv: ['restore', 'alice', '--key', 'akia-lower'],
      message: /--key "akia-lower" is not an access key id/,
    },
    {
      case: '0 days',
      argv: ['restore', 'alice', '--exempt-days', '0'],
      message: /--exempt-days "0".*1 to 90/,
    },
    {
      case: '91 days',
      argv: ['restore', 'alice', '--exempt-days', '91'],
      message: /--exempt-days "91".*1 to 90/,
    },
    {
      case: 'a fraction of a day',
      argv: ['restore', 'alice', '--exempt-days', '1.5'],
      message: /--exempt-days "1.5"/,
    },
    { case: 'an unknown flag', argv: ['restore', 'alice', '--force'], message: /--force/ },
    {
      case: '--force without --key',
      argv: ['restore', 'alice', '--force'],
      message: /--force goes with --key ID/,
    },
    {
      case: 'a KeyWarden role given as a pattern',
      argv: ['restore', 'alice', '--keywarden-roles', 'arn:aws:iam::*:role/KeyWarden-*'],
      message: /--keywarden-roles "arn:aws:iam::\*:role\/KeyWarden-\*" is not allowed/,
    },
    {
      case: 'a KeyWarden role that is a session, not a role',
      argv: [
        'restore',
        'alice',
        '--keywarden-roles',
        'arn:aws:sts::123456789012:assumed-role/KeyWarden-DetectorRole/keywarden-detector',
      ],
      message: /is not allowed; use the exact ARNs of KeyWarden's roles/,
    },
    { case: 'a scan flag', argv: ['restore', 'alice', '--remediate'], message: /--remediate/ },
    {
      case: 'a bad tag key',
      argv: ['restore', 'alice', '--exempt-tag', 'aws:x'],
      message: /--exempt-tag "aws:x"/,
    },
    {
      case: 'an empty profile',
      argv: ['restore', 'alice', '--profile', ' '],
      message: /--profile needs a value/,
    },
    {
      case: '--account alone',
      argv: ['restore', 'alice', '--account', '111122223333'],
      message: /go together/,
    },
    { case: '--role-name alone', argv: ['restore', 'alice', '--role-name', 'R'], message: /go together/ },
    {
      case: 'a bad account id',
      argv: ['restore', 'alice', '--account', '1234', '--role-name', 'R'],
      message: /--account "1234" is not a 12-digit account id/,
    },
    {
      case: 'a bad role name',
      argv: ['restore', 'alice', '--account', '111122223333', '--role-name', 'a/b'],
      message: /--role-name "a\/b" is not an IAM role name/,
    },
  ])('refuses $case as a usage error', ({ argv, message }) => {
    const command = parseCommandLine(argv, {}, false);
    expect(command.kind).toBe('usage-error');
    expect(command).toMatchObject({ message: expect.stringMatching(message) });
  });

  it('shows its own help', () => {
    expect(parseCommandLine(['restore', '--help'], {}, false)).toEqual({ kind: 'restore-help' });
  });
});

describe('RESTORE_HELP', () => {
  it('names the restore role the member stack adds for --role-name, not the member role', () => {
    const roleName = RESTORE_HELP.slice(
      RESTORE_HELP.indexOf('--role-name NAME'),
      RESTORE_HELP.indexOf('--profile NAME'),
    );
    expect(roleName).toContain('KeyWardenMemberRestore');
    expect(roleName).toContain('restorePrincipals');
    expect(roleName).not.toMatch(/the member role KeyWarden is deployed with/);
    expect(RESTORE_HELP).toMatch(/sts:AssumeRole on the restore role/);
  });
});

describe('exemptUntil', () => {
  it('is now + N days in ISO 8601 UTC, to the second', () => {
    expect(exemptUntil(new Date('2026-06-01T12:00:00.789Z'), 7)).toBe('2026-06-08T12:00:00Z');
    expect(exemptUntil(new Date('2026-12-31T23:59:59.000Z'), 90)).toBe('2027-03-31T23:59:59Z');
  });
});

describe('planRestore', () => {
  const inactiveOld: AccessKey = { ...OLD_KEY, status: 'Inactive' };
  // Only the fields the plan reads; the rest of a finding does not matter here.
  const recording = (ids: string): Finding =>
    ({
      Id: 'x',
      Compliance: { Status: 'PASSED' },
      ProductFields: {
        [DEACTIVATED_KEYS_FIELD]: ids,
        'keywarden/detector/deactivatedAt': '2026-05-30T10:00:00.000Z',
      },
    }) as unknown as Finding;
  const plan = (keys: AccessKey[], finding: Finding | undefined, accessKeyId?: string, exists = true) =>
    planRestore({
      options: { userName: 'alice', accessKeyId, exemptDays: 7, exemptTag: 'keywarden:exempt' },
      snapshot: exists ? snapshot(keys) : undefined,
      finding,
      accountId: ACCOUNT.accountId,
      now: NOW,
    });

  it('re-activates the key the finding records as deactivated by KeyWarden', () => {
    const planned = plan([inactiveOld, NEW_KEY], recording(OLD_KEY.accessKeyId));
    expect(planned).toMatchObject({
      userName: 'alice',
      key: { accessKeyId: OLD_KEY.accessKeyId, status: 'Inactive' },
      source: 'finding',
      deactivatedAt: '2026-05-30T10:00:00.000Z',
      findingId: `keywarden/cis-1.13/${ACCOUNT.accountId}/alice`,
      findingStatus: 'PASSED',
      exemptTag: 'keywarden:exempt',
      exemptUntil: '2026-06-08T12:00:00Z',
    });
    expect(describePlan(planned, 'arn:aws:iam::123456789012:user/admin')).toEqual([
      expect.stringContaining('tag IAM user alice keywarden:exempt=2026-06-08T12:00:00Z'),
      expect.stringContaining(
        `re-activate access key ${OLD_KEY.accessKeyId}, now Inactive (deactivated by KeyWarden at 2026-05-30T10:00:00.000Z`,
      ),
      'read IAM back to confirm both',
      expect.stringContaining(
        'to WARNING: restored by arn:aws:iam::123456789012:user/admin, exempt until 2026-06-08T12:00:00Z',
      ),
    ]);
  });

  it('takes --key over the record, when it is a key of the user', () => {
    expect(plan([inactiveOld, NEW_KEY], recording(OLD_KEY.accessKeyId), NEW_KEY.accessKeyId)).toMatchObject({
      key: { accessKeyId: NEW_KEY.accessKeyId },
      source: 'flag',
      deactivatedAt: undefined,
    });
    expect(plan([inactiveOld, NEW_KEY], undefined, OLD_KEY.accessKeyId).source).toBe('flag');
  });

  it('says a key is already active, and still plans the exemption', () => {
    const planned = plan([OLD_KEY, NEW_KEY], recording(OLD_KEY.accessKeyId));
    expect(planned.key.status).toBe('Active');
    expect(describePlan(planned, 'arn:x')[1]).toContain('already active');
  });

  it.each<{
    case: string;
    keys: AccessKey[];
    finding: Finding | undefined;
    key?: string;
    exists?: boolean;
    reason: RegExp;
  }>([
    {
      case: 'a user that does not exist',
      keys: [],
      finding: undefined,
      exists: false,
      reason: /does not exist/,
    },
    {
      case: 'no finding and no --key',
      keys: [inactiveOld, NEW_KEY],
      finding: undefined,
      reason: /no finding .*name the key with --key/,
    },
    {
      case: 'a finding with no deactivation record',
      keys: [inactiveOld, NEW_KEY],
      finding: { Id: 'x', ProductFields: {} } as unknown as Finding,
      reason: /names none\); name the key with --key/,
    },
    {
      case: 'a recorded key that was deleted since',
      keys: [NEW_KEY],
      finding: recording(OLD_KEY.accessKeyId),
      reason: /no longer exists/,
    },
    {
      case: '--key naming a key of someone else',
      keys: [inactiveOld, NEW_KEY],
      finding: undefined,
      key: 'AKIAOTHERUSERKEY0000',
      reason: /is not an access key of IAM user alice/,
    },
    {
      case: 'a record of two inactive keys',
      keys: [inactiveOld, { ...NEW_KEY, status: 'Inactive' }],
      finding: recording(`${OLD_KEY.accessKeyId},${NEW_KEY.accessKeyId}`),
      reason: /several deactivated keys/,
    },
  ])('refuses $case', ({ keys, finding, key, exists = true, reason }) => {
    expect(() => plan(keys, finding, key, exists)).toThrow(RestoreRefusedError);
    expect(() => plan(keys, finding, key, exists)).toThrow(reason);
  });
});

describe('restoreConfirmed', () => {
  const planned = planRestore({
    options: {
      userName: 'alice',
      accessKeyId: OLD_KEY.accessKeyId,
      exemptDays: 7,
      exemptTag: 'keywarden:exempt',
    },
    snapshot: snapshot([{ ...OLD_KEY, status: 'Inactive' }, NEW_KEY]),
    finding: undefined,
    accountId: ACCOUNT.accountId,
    now: NOW,
  });
  const tagged = { tags: { 'keywarden:exempt': '2026-06-08T12:00:00Z' } };

  it('confirms when IAM shows the key active and the tag set', () => {
    expect(restoreConfirmed(planned, snapshot([OLD_KEY, NEW_KEY], tagged))).toBeUndefined();
  });

  it.each<{ case: string; tags: Record<string, string> }>([
    { case: 'in other letters', tags: { 'KeyWarden:Exempt': '2026-06-08T12:00:00Z' } },
    {
      case: 'twice, the exact letters holding the value (an emulator keeps both)',
      tags: { 'KeyWarden:Exempt': 'false', 'keywarden:exempt': '2026-06-08T12:00:00Z' },
    },
  ])('confirms the tag IAM holds $case, since IAM tag keys are case-insensitive', ({ tags }) => {
    expect(restoreConfirmed(planned, snapshot([OLD_KEY, NEW_KEY], { tags }))).toBeUndefined();
  });

  it('does not confirm a tag in other letters that holds another value', () => {
    const other = snapshot([OLD_KEY, NEW_KEY], { tags: { 'KEYWARDEN:EXEMPT': 'true' } });
    expect(restoreConfirmed(planned, other)).toMatch(/"true", not 2026-06-08T12:00:00Z/);
  });

  it.each([
    {
      case: 'the key still inactive',
      state: snapshot([{ ...OLD_KEY, status: 'Inactive' }, NEW_KEY], tagged),
      says: /Inactive, not Active/,
    },
    { case: 'the key gone', state: snapshot([NEW_KEY], tagged), says: /absent, not Active/ },
    { case: 'no tag', state: snapshot([OLD_KEY, NEW_KEY]), says: /tag keywarden:exempt=\(none\)/ },
    {
      case: 'another tag value',
      state: snapshot([OLD_KEY, NEW_KEY], { tags: { 'keywarden:exempt': 'true' } }),
      says: /"true", not 2026-06-08T12:00:00Z/,
    },
    { case: 'the user gone', state: undefined, says: /no longer exists/ },
  ])('does not confirm with $case', ({ state, says }) => {
    expect(restoreConfirmed(planned, state)).toMatch(says);
  });
});
