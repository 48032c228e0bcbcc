/**
 * `keywarden restore USER`: undoes a deactivation. Re-activates the key KeyWarden switched off (from the finding's
 * record, or `--key`), exempts the user until a time so neither the detector nor the sweep switches it off again,
 * proves both with a read of IAM, and has the engine update the finding (WARNING: who restored which key, exempt
 * until when). Without `--yes` it only shows what it would do.
 */

import { USER_NAME } from '../core/event.ts';
import type { Finding } from '../core/finding.ts';
import { findingIdFor } from '../core/finding.ts';
import type { AccessKey, UserSnapshot } from '../core/types.ts';
import { loadConfig } from '../shared/config.ts';
import { ACCOUNT_ID_PATTERN, ENV, ROLE_NAME_PATTERN } from '../shared/constants.ts';
import { ConfigError, KeyWardenError } from '../shared/errors.ts';
import { type OptionTable, type ParsedOptions, parseOptions, regionProblem } from './options.ts';

/** `--exempt-days`: default and bounds. */
export const EXEMPT_DAYS = { default: 7, min: 1, max: 90 } as const;

/** The finding's record of the keys KeyWarden deactivated (comma-separated access key ids). */
export const DEACTIVATED_KEYS_FIELD = 'keywarden/detector/deactivatedKeys';
const DEACTIVATED_AT_FIELD = 'keywarden/detector/deactivatedAt';

export interface RestoreOptions {
  readonly userName: string;
  /** Absent: the key the finding records as deactivated by KeyWarden. */
  readonly accessKeyId: string | undefined;
  readonly exemptDays: number;
  readonly exemptTag: string;
  /** False: show the plan, change nothing. */
  readonly yes: boolean;
  /** With `--key`: re-activate it although IAM and CloudTrail do not prove that KeyWarden switched it off. */
  readonly force: boolean;
  /**
   * ARNs of KeyWarden's roles whose deactivations restore may undo (`--keywarden-roles`, else
   * `KEYWARDEN_ROLE_ARNS`). Empty in organization mode: the member role (`KeyWardenMember`) of that account.
   */
  readonly keywardenRoles: readonly string[];
  readonly profile: string | undefined;
  readonly region: string | undefined;
  /** Organization mode: the member account, reached through the member role. Absent: the caller's account. */
  readonly member: { readonly accountId: string; readonly roleName: string } | undefined;
}

export type RestoreCommand =
  | { readonly kind: 'restore'; readonly options: RestoreOptions }
  | { readonly kind: 'restore-help' }
  | { readonly kind: 'usage-error'; readonly message: string };

export const RESTORE_HELP = `Usage: keywarden restore USER [--key ID] [--exempt-days N] [--yes]
       keywarden restore USER --key ID --force [--exempt-days N] [--yes]

Undoes a KeyWarden deactivation: re-activates the access key KeyWarden
deactivated (named by the user's finding in Security Hub, or by --key), tags
the user exempt until now + N days so neither the detector nor the sweep
switches the key off meanwhile, checks both with a read of IAM, and updates
the finding to WARNING (restored by whom, which key, exempt until when).
Without --yes it shows what it would do and changes nothing.

A finding is no proof (anyone allowed securityhub:BatchImportFindings can
write one). Before anything is changed, IAM must list the key Inactive as a
key of USER, and CloudTrail (LookupEvents, in the partition's IAM event
region, last 90 days) must show that one of KeyWarden's roles switched it off
and nobody switched it on since. Otherwise the command refuses and says what
could not be proven, and who switched the key off when CloudTrail shows it.

Options:
  --key ID           the access key to re-activate (default: the one the finding
                     records as deactivated by KeyWarden); must be a key of USER
  --force            with --key: re-activate it even without that proof
  --keywarden-roles ARN[,ARN...]
                     KeyWarden's roles, whose deactivations may be undone: the
                     detector's and the sweep's execution role ARNs, as the
                     stack's KeyWardenRoleArns output lists them (default:
                     KEYWARDEN_ROLE_ARNS; with --account, the member role
                     KeyWardenMember of that account)
  --exempt-days N    days the exemption lasts, 1 to 90 (default: 7)
  --yes              do it
  --exempt-tag KEY   the exemption tag (default: EXEMPT_TAG or keywarden:exempt)
  --account ID --role-name NAME
                     organization mode: act in member account ID through its
                     restore role NAME: KeyWardenMemberRestore (<member role
                     name>Restore), which the member stack adds when deployed
                     with restorePrincipals; the member role cannot restore
  --profile NAME     AWS profile (default: the standard credential chain)
  --region REGION    region for STS and Security Hub (default: the profile's or AWS_REGION)
  -h, --help         show this help

Permissions: sts:GetCallerIdentity, iam:GetUser, iam:ListAccessKeys,
securityhub:GetFindings and cloudtrail:LookupEvents; with --yes also
iam:TagUser, iam:UpdateAccessKey, iam:GetAccessKeyLastUsed and
securityhub:BatchImportFindings. With --account, the caller needs
sts:AssumeRole on the restore role, which grants those.

Exit codes:
  0   done (or, without --yes, the plan was shown)
  1   AWS error (credentials, permission, a write IAM does not confirm, ...)
  64  usage error (including a user or key that does not exist, no
      recorded deactivation and no --key, or a deactivation by KeyWarden
      that IAM and CloudTrail do not prove, without --key ID --force)
`;

/** The options `keywarden restore` reads; docs/configuration.md lists each (a test compares the two). */
export const RESTORE_OPTIONS = {
  key: { type: 'string' },
  'exempt-days': { type: 'string' },
  'exempt-tag': { type: 'string' },
  yes: { type: 'boolean' },
  force: { type: 'boolean' },
  'keywarden-roles': { type: 'string' },
  profile: { type: 'string' },
  region: { type: 'string' },
  account: { type: 'string' },
  'role-name': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies OptionTable;

/** `keywarden restore`'s exit codes: done, an AWS error, a usage error (as RESTORE_HELP says). */
export const RESTORE_EXIT_CODES = [0, 1, 64] as const;

// Access key ids: 16-128 upper-case letters and digits.
const ACCESS_KEY_ID = /^[A-Z0-9]{16,128}$/;
// The exact ARN of a role (paths allowed), as CloudTrail's sessionIssuer.arn shows it.
const ROLE_ARN = /^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@/-]{1,512}$/;

/** The environment variable that names KeyWarden's roles when `--keywarden-roles` is not given. */
export const KEYWARDEN_ROLES_ENV = 'KEYWARDEN_ROLE_ARNS';

type Env = Readonly<Record<string, string | undefined>>;

/** Parses `restore USER ...` (argv without node and the script). Pure: the environment is passed in. */
export function parseRestoreCommandLine(argv: readonly string[], env: Env): RestoreCommand {
  const parsed = parseOptions(argv, RESTORE_OPTIONS, 'keywarden restore');
  if (typeof parsed === 'string') return { kind: 'usage-error', message: parsed };
  const { values, positionals } = parsed;
  if (values.help) return { kind: 'restore-help' };
  const [, userName, ...extra] = positionals;
  if (userName === undefined) return { kind: 'usage-error', message: 'restore needs a user name' };
  if (extra.length > 0)
    return { kind: 'usage-error', message: `unexpected argument ${JSON.stringify(extra[0])}` };
  if (!USER_NAME.test(userName))
    return {
      kind: 'usage-error',
      message: `${JSON.stringify(userName)} is not an IAM user name (1 to 64 letters, digits and +=,.@_-)`,
    };
  const keyError = keyUsageError(values);
  if (keyError !== undefined) return { kind: 'usage-error', message: keyError };
  const keywardenRoles = keywardenRolesFrom(values, env);
  if (typeof keywardenRoles === 'string') return { kind: 'usage-error', message: keywardenRoles };
  const exemptDays = exemptDaysFrom(values);
  if (typeof exemptDays === 'string') return { kind: 'usage-error', message: exemptDays };
  const where = whereUsageError(values);
  if (where !== undefined) return { kind: 'usage-error', message: where };
  const exemptTag = exemptTagFrom(values, env);
  if (typeof exemptTag !== 'string') return exemptTag;
  const { account: accountId, 'role-name': roleName } = values;
  return {
    kind: 'restore',
    options: {
      userName,
      accessKeyId: values.key,
      exemptDays,
      exemptTag,
      yes: values.yes ?? false,
      force: values.force ?? false,
      keywardenRoles,
      profile: values.profile,
      region: values.region,
      member: accountId !== undefined && roleName !== undefined ? { accountId, roleName } : undefined,
    },
  };
}

type RestoreFlags = Exclude<ParsedOptions<typeof RESTORE_OPTIONS>, string>['values'];

function keyUsageError(values: RestoreFlags): string | undefined {
  const accessKeyId = values.key;
  if (accessKeyId !== undefined && !ACCESS_KEY_ID.test(accessKeyId))
    return `--key ${JSON.stringify(accessKeyId)} is not an access key id`;
  // Without --key the key comes from a finding, which anyone allowed to import findings can write.
  if (values.force && accessKeyId === undefined)
    return '--force goes with --key ID: name the key to re-activate without proof that KeyWarden switched it off';
  return undefined;
}

/** KeyWarden's roles, from --keywarden-roles or the environment; a string is the usage error. */
function keywardenRolesFrom(values: RestoreFlags, env: Env): string[] | string {
  const rolesSource =
    values['keywarden-roles'] !== undefined ? '--keywarden-roles' : `${KEYWARDEN_ROLES_ENV}=`;
  const keywardenRoles = (values['keywarden-roles'] ?? env[KEYWARDEN_ROLES_ENV] ?? '')
    .split(',')
    .map((arn) => arn.trim())
    .filter((arn) => arn !== '');
  const badRole = keywardenRoles.find((arn) => !ROLE_ARN.test(arn));
  if (badRole !== undefined)
    return `${rolesSource} ${JSON.stringify(badRole)} is not allowed; use the exact ARNs of KeyWarden's roles, comma-separated (arn:<partition>:iam::<account>:role/<name>), no wildcard`;
  return keywardenRoles;
}

/** --exempt-days as a number; a string is the usage error. */
function exemptDaysFrom(values: RestoreFlags): number | string {
  const days = values['exempt-days'] ?? String(EXEMPT_DAYS.default);
  const exemptDays = /^\d+$/.test(days) ? Number(days) : Number.NaN;
  if (!(exemptDays >= EXEMPT_DAYS.min && exemptDays <= EXEMPT_DAYS.max))
    return `--exempt-days ${JSON.stringify(days)} is not allowed; use a whole number from ${EXEMPT_DAYS.min} to ${EXEMPT_DAYS.max}`;
  return exemptDays;
}

/** What is wrong with --profile, --region, --account and --role-name, if anything. */
function whereUsageError(values: RestoreFlags): string | undefined {
  for (const [name, value] of [
    ['--profile', values.profile],
    ['--region', values.region],
  ] as const) {
    if (value !== undefined && value.trim() === '') return `${name} needs a value`;
  }
  const badRegion = regionProblem(values.region);
  if (badRegion !== undefined) return badRegion;
  const accountId = values.account;
  const roleName = values['role-name'];
  if ((accountId === undefined) !== (roleName === undefined)) return '--account and --role-name go together';
  if (accountId !== undefined && !ACCOUNT_ID_PATTERN.test(accountId))
    return `--account ${JSON.stringify(accountId)} is not a 12-digit account id`;
  if (roleName !== undefined && !ROLE_NAME_PATTERN.test(roleName))
    return `--role-name ${JSON.stringify(roleName)} is not an IAM role name`;
  return undefined;
}

/** The exemption tag, validated as the Lambda validates EXEMPT_TAG. */
function exemptTagFrom(
  values: RestoreFlags,
  env: Env,
): string | Extract<RestoreCommand, { kind: 'usage-error' }> {
  try {
    return loadConfig({ [ENV.exemptTag]: values['exempt-tag'] ?? env[ENV.exemptTag] }).exemptTag;
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    const message = values['exempt-tag']
      ? error.message.replace(`${ENV.exemptTag}=`, '--exempt-tag ')
      : error.message;
    return { kind: 'usage-error', message };
  }
}

/** The restore cannot be planned from what IAM and Security Hub show: the operator must name the key (exit 64). */
export class RestoreRefusedError extends KeyWardenError {}

/** IAM does not show what the restore wrote (exit 1). */
export class RestoreNotConfirmedError extends KeyWardenError {}

export interface RestorePlan {
  readonly userName: string;
  readonly userArn: string;
  readonly key: AccessKey;
  /** Where the key came from: the finding's record, or `--key`. */
  readonly source: 'finding' | 'flag';
  /** When KeyWarden deactivated the key, from the finding's record. */
  readonly deactivatedAt: string | undefined;
  readonly findingId: string;
  readonly findingStatus: string | undefined;
  readonly exemptTag: string;
  /** The tag value: an ISO 8601 UTC time, to the second. */
  readonly exemptUntil: string;
}

/** The key ids a finding records as deactivated by KeyWarden. */
export function recordedDeactivations(finding: Finding | undefined): string[] {
  const value = finding?.ProductFields?.[DEACTIVATED_KEYS_FIELD] ?? '';
  return value
    .split(',')
    .map((id) => id.trim())
    .filter((id) => id !== '');
}

/** ISO 8601 UTC to the second, the exemption tag's format. */
export function exemptUntil(now: Date, days: number): string {
  return new Date(now.getTime() + days * 86_400_000).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** Decides which key to re-activate and the tag to set. Pure; throws RestoreRefusedError with the reason. */
export function planRestore(input: {
  readonly options: Pick<RestoreOptions, 'userName' | 'accessKeyId' | 'exemptDays' | 'exemptTag'>;
  readonly snapshot: UserSnapshot | undefined;
  readonly finding: Finding | undefined;
  readonly accountId: string;
  readonly now: Date;
}): RestorePlan {
  const { options, snapshot, finding } = input;
  if (snapshot === undefined)
    throw new RestoreRefusedError(
      `IAM user ${options.userName} does not exist in account ${input.accountId}`,
    );
  const { user, keys } = snapshot;
  const keyList = keys.length ? keys.map((k) => `${k.accessKeyId} (${k.status})`).join(', ') : 'none';
  const findingId = findingIdFor(input.accountId, user.userName);
  let key: AccessKey | undefined;
  let source: RestorePlan['source'];
  if (options.accessKeyId !== undefined) {
    key = keys.find((k) => k.accessKeyId === options.accessKeyId);
    if (key === undefined)
      throw new RestoreRefusedError(
        `${options.accessKeyId} is not an access key of IAM user ${user.userName} (its keys: ${keyList})`,
      );
    source = 'flag';
  } else {
    const recorded = recordedDeactivations(finding);
    if (recorded.length === 0)
      throw new RestoreRefusedError(
        `no deactivation by KeyWarden is recorded for IAM user ${user.userName} (${finding ? `finding ${findingId} names none` : `no finding ${findingId}`}); name the key with --key (its keys: ${keyList})`,
      );
    const existing = keys.filter((k) => recorded.includes(k.accessKeyId));
    if (existing.length === 0)
      throw new RestoreRefusedError(
        `the key KeyWarden deactivated (${recorded.join(', ')}) no longer exists for IAM user ${user.userName} (its keys: ${keyList})`,
      );
    const inactive = existing.filter((k) => k.status !== 'Active');
    const candidates = inactive.length ? inactive : existing;
    if (candidates.length > 1)
      throw new RestoreRefusedError(
        `the finding records several deactivated keys (${candidates.map((k) => k.accessKeyId).join(', ')}); name one with --key`,
      );
    key = candidates[0] as AccessKey;
    source = 'finding';
  }
  return {
    userName: user.userName,
    userArn: user.arn,
    key,
    source,
    deactivatedAt: recordedDeactivations(finding).includes(key.accessKeyId)
      ? finding?.ProductFields?.[DEACTIVATED_AT_FIELD]
      : undefined,
    findingId,
    findingStatus: finding?.Compliance?.Status,
    exemptTag: options.exemptTag,
    exemptUntil: exemptUntil(input.now, options.exemptDays),
  };
}

/** What the restore will do (or did), one step a line. */
export function describePlan(plan: RestorePlan, callerArn: string): string[] {
  const { key } = plan;
  const origin =
    plan.source === 'finding'
      ? `deactivated by KeyWarden${plan.deactivatedAt ? ` at ${plan.deactivatedAt}` : ''}, as finding ${plan.findingId} records`
      : 'named with --key';
  return [
    `tag IAM user ${plan.userName} ${plan.exemptTag}=${plan.exemptUntil} (exempt until then: neither the detector nor the sweep deactivates its keys)`,
    key.status === 'Active'
      ? `access key ${key.accessKeyId} is already active (${origin}); nothing to re-activate`
      : `re-activate access key ${key.accessKeyId}, now ${key.status} (${origin})`,
    'read IAM back to confirm both',
    `update finding ${plan.findingId}${plan.findingStatus ? ` (now ${plan.findingStatus})` : ''} to WARNING: restored by ${callerArn}, exempt until ${plan.exemptUntil}`,
  ];
}

/**
 * The value of tag `key`: IAM tag keys are case-insensitive, so a tag held in other letters is the same tag (TagUser
 * replaces its value and IAM keeps its letters). The exact letters win when an emulator holds both.
 */
export function tagValue(tags: Readonly<Record<string, string>>, key: string): string | undefined {
  if (Object.hasOwn(tags, key)) return tags[key];
  const wanted = key.toLowerCase();
  return Object.entries(tags).find(([name]) => name.toLowerCase() === wanted)?.[1];
}

/** Whether IAM shows the restore's outcome: the key active and the tag set to the planned value. */
export function restoreConfirmed(plan: RestorePlan, snapshot: UserSnapshot | undefined): string | undefined {
  if (snapshot === undefined) return `IAM user ${plan.userName} no longer exists`;
  const key = snapshot.keys.find((k) => k.accessKeyId === plan.key.accessKeyId);
  const problems: string[] = [];
  if (key?.status !== 'Active')
    problems.push(`IAM lists ${plan.key.accessKeyId} as ${key ? key.status : 'absent'}, not Active`);
  const tag = tagValue(snapshot.user.tags, plan.exemptTag);
  if (tag !== plan.exemptUntil)
    problems.push(
      `IAM shows tag ${plan.exemptTag}=${tag === undefined ? '(none)' : JSON.stringify(tag)}, not ${plan.exemptUntil}`,
    );
  return problems.length ? problems.join('; ') : undefined;
}
