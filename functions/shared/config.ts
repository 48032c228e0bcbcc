import {
  ACCOUNT_ID_PATTERN,
  CLOUDTRAIL_LOOKUP_DAYS,
  DEFAULTS,
  ENV,
  EVENT_BUS_PATTERN,
  KEEP_KEY_STRATEGIES,
  type KeepKeyStrategy,
  MAX_EXEMPTION_DAYS_LIMIT,
  MAX_IN_USE_HOURS,
  MAX_ROTATION_GRACE_HOURS,
  MAX_TRUSTED_KEY_ISSUERS,
  ORGANIZATIONAL_UNIT_ALLOWED,
  ORGANIZATIONAL_UNIT_PATTERN,
  PRINCIPAL_ARN_PATTERN_ALLOWED,
  principalArnPatternProblem,
  QUEUE_URL_PATTERN,
  REMEDIATION_MODES,
  type RemediationMode,
  ROLE_NAME_PATTERN,
  SWEEP_SOURCES,
  type SweepSource,
  TAG_KEY_PATTERN,
  wholeNumberRange,
} from './constants.ts';
import { ConfigError } from './errors.ts';

/** Validated configuration, read once at cold start. */
export interface Config {
  readonly remediationMode: RemediationMode;
  readonly keepKey: KeepKeyStrategy;
  readonly exemptTag: string;
  readonly rotationGraceHours: number;
  /** Hours a key's last use keeps it from being switched off (in use); 0: no such protection. */
  readonly inUseHours: number;
  /** Unset: no notifications. */
  readonly eventBusName: string | undefined;
  /** How many times to re-read IAM when the listing does not yet show what the event reported. */
  readonly consistencyRetries: number;
  readonly sweepSource: SweepSource;
  /** Organization mode: the role assumed in a member account. Unset: other accounts' events are skipped. */
  readonly memberRoleName: string | undefined;
  /** Unset: every account of the organization; set: only these (and the function's own). */
  readonly memberAccountIds: readonly string[] | undefined;
  /**
   * The OUs (or the root) the member StackSet deploys to: with {@link organizationRoleArn}, the sweep's members are
   * the ACTIVE accounts under them (nested OUs included). Unset: every ACTIVE account of the organization.
   */
  readonly memberOus: readonly string[] | undefined;
  /** Read-only role in the management account that lists the organization's accounts (the sweep). */
  readonly organizationRoleArn: string | undefined;
  /**
   * Organization sweep: the queue of accounts to sweep, one message each, that feeds the sweep function. Unset:
   * the scheduled sweep sweeps every account in its own invocation.
   */
  readonly sweepQueueUrl: string | undefined;
  /** ARN patterns (matched as IAM's ArnLike) of principals that hand out access keys legitimately; empty: none. */
  readonly trustedKeyIssuers: readonly string[];
  /**
   * KeyWarden's own execution roles: a call by a session of one of them is KeyWarden's own (CloudTrail's
   * sessionIssuer ARN); empty when unset, so nothing counts as KeyWarden's own.
   */
  readonly ownRoleArns: readonly string[];
  /**
   * ARN patterns (matched as IAM's ArnLike) of the principals whose exemption tag is honoured; empty: anyone's is,
   * and `true` exempts for good. Set: who set the tag is proven from the event or CloudTrail.
   */
  readonly exemptionApprovers: readonly string[];
  /** Days an exemption may last from when it was set (from now when that is unknown). */
  readonly maxExemptionDays: number;
  /**
   * Organization mode: the central bus the members' forwarding rules must target. Set: each sweep checks every
   * member's forwarding rule through the member role (the coverage check); unset: no such check.
   */
  readonly organizationBusArn: string | undefined;
  /** The canary table: set, each sweep sends a canary to every account it covers, and the detector records it. */
  readonly canaryTableName: string | undefined;
}

type Env = Readonly<Record<string, string | undefined>>;

/**
 * The variable's value, trimmed; undefined when unset. A set but empty (or blank) value is an error rather than
 * the default, so a variable that lost its value (a typo in a template, an unset shell variable) is noticed.
 */
function setValue(env: Env, name: string, allowed: string): string | undefined {
  const raw = env[name];
  if (raw === undefined) return undefined;
  if (raw.trim() === '') throw notAllowed(name, raw, allowed);
  return raw.trim();
}

function notAllowed(name: string, raw: string | undefined, allowed: string): ConfigError {
  return new ConfigError(`${name}=${JSON.stringify(raw)} is not allowed; use ${allowed}`);
}

function oneOf<T extends string>(env: Env, name: string, allowed: readonly T[], fallback: T): T {
  const description = `one of: ${allowed.join(', ')}`;
  const value = setValue(env, name, description);
  if (value === undefined) return fallback;
  if ((allowed as readonly string[]).includes(value)) return value as T;
  throw notAllowed(name, env[name], description);
}

// Plain decimal digits only: Number() would also take "0x10", "1e3", "0.5" and " ".
const DECIMAL_INTEGER = /^\d+$/;

function wholeNumber(env: Env, name: string, fallback: number, min: number, max: number): number {
  const allowed = wholeNumberRange(min, max);
  const value = setValue(env, name, allowed);
  if (value === undefined) return fallback;
  const parsed = DECIMAL_INTEGER.test(value) ? Number(value) : Number.NaN;
  if (!(parsed >= min && parsed <= max)) throw notAllowed(name, env[name], allowed);
  return parsed;
}

/**
 * Splits a comma list of ARN patterns (matched as IAM's ArnLike); throws ConfigError naming the variable, its value,
 * the bad entry and why it is not an IAM or STS ARN pattern.
 */
export function parseArnPatterns(raw: string | undefined, name: string): string[] {
  const patterns = (raw ?? '')
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '');
  const shown = `${name}=${JSON.stringify(raw && raw.length > 300 ? `${raw.slice(0, 299)}…` : raw)}`;
  // Set but empty is an error like for every other variable: unset it to name no principal.
  if (raw !== undefined && patterns.length === 0)
    throw new ConfigError(`${shown} is not allowed; use ${PRINCIPAL_ARN_PATTERN_ALLOWED}, or unset it`);
  for (const pattern of patterns) {
    const problem = principalArnPatternProblem(pattern);
    if (problem !== undefined) {
      throw new ConfigError(
        `${shown} is not allowed: ${JSON.stringify(pattern.slice(0, 200))} is not an ARN pattern of IAM or STS (${problem}); use ${PRINCIPAL_ARN_PATTERN_ALLOWED}`,
      );
    }
  }
  if (patterns.length > MAX_TRUSTED_KEY_ISSUERS) {
    throw new ConfigError(
      `${shown} is not allowed: ${patterns.length} entries; use at most ${MAX_TRUSTED_KEY_ISSUERS} ARN patterns (a * wildcard covers many principals)`,
    );
  }
  return [...new Set(patterns)];
}

/** TRUSTED_KEY_ISSUERS: see {@link parseArnPatterns}. */
export function parseTrustedKeyIssuers(
  raw: string | undefined,
  name: string = ENV.trustedKeyIssuers,
): string[] {
  return parseArnPatterns(raw, name);
}

function roleArns(env: Env, name: string): string[] {
  const raw = setValue(env, name, 'a comma-separated list of arn:<partition>:iam::<account>:role/<name>');
  if (raw === undefined) return [];
  const arns = raw.split(',').map((arn) => arn.trim());
  const bad = arns.find((arn) => !ROLE_ARN.test(arn));
  if (bad !== undefined) {
    throw new ConfigError(
      `${name}=${JSON.stringify(raw)} is not allowed: ${JSON.stringify(bad)} is not an IAM role ARN; use a comma-separated list of arn:<partition>:iam::<account>:role/<name>`,
    );
  }
  return arns;
}

const ROLE_ARN = /^arn:aws[\w-]*:iam::\d{12}:role\/([\w+=,.@/-]{1,512})$/;

function organization(
  env: Env,
): Pick<
  Config,
  'memberRoleName' | 'memberAccountIds' | 'memberOus' | 'organizationRoleArn' | 'sweepQueueUrl'
> {
  const roleName = env[ENV.memberRoleName]?.trim() || undefined;
  if (roleName !== undefined && !ROLE_NAME_PATTERN.test(roleName)) {
    throw new ConfigError(
      `${ENV.memberRoleName}=${JSON.stringify(roleName)} is not allowed; use an IAM role name (1-64 letters, digits and +=,.@_-), or leave it unset`,
    );
  }
  const rawIds = env[ENV.memberAccountIds]?.trim() || undefined;
  const accountIds = rawIds?.split(',').map((id) => id.trim());
  const badId = accountIds?.find((id) => !ACCOUNT_ID_PATTERN.test(id));
  if (badId !== undefined) {
    throw new ConfigError(
      `${ENV.memberAccountIds}=${JSON.stringify(rawIds)} is not allowed: ${JSON.stringify(badId)} is not a 12-digit account id; use a comma-separated list of account ids, or leave it unset`,
    );
  }
  const ous = memberOus(env);
  const roleArn = env[ENV.organizationRoleArn]?.trim() || undefined;
  if (roleArn !== undefined && !ROLE_ARN.test(roleArn)) {
    throw new ConfigError(
      `${ENV.organizationRoleArn}=${JSON.stringify(roleArn)} is not allowed; use an IAM role ARN (arn:<partition>:iam::<account>:role/<name>), or leave it unset`,
    );
  }
  const queueUrl = env[ENV.sweepQueueUrl]?.trim() || undefined;
  if (queueUrl !== undefined && !QUEUE_URL_PATTERN.test(queueUrl)) {
    throw new ConfigError(
      `${ENV.sweepQueueUrl}=${JSON.stringify(queueUrl)} is not allowed; use an SQS queue URL (https://sqs.<region>.amazonaws.com/<account>/<name>), or leave it unset`,
    );
  }
  if (
    roleName === undefined &&
    (accountIds !== undefined || ous !== undefined || roleArn !== undefined || queueUrl !== undefined)
  ) {
    const name =
      accountIds !== undefined
        ? ENV.memberAccountIds
        : ous !== undefined
          ? ENV.memberOus
          : roleArn !== undefined
            ? ENV.organizationRoleArn
            : ENV.sweepQueueUrl;
    throw new ConfigError(`${name} is set but ${ENV.memberRoleName} is not; set both, or neither`);
  }
  return {
    memberRoleName: roleName,
    memberAccountIds: accountIds === undefined ? undefined : [...new Set(accountIds)],
    memberOus: ous,
    organizationRoleArn: roleArn,
    sweepQueueUrl: queueUrl,
  };
}

/** MEMBER_OUS: a comma list of OU ids or the root id, as the StackSet takes them; unset when empty. */
function memberOus(env: Env): readonly string[] | undefined {
  const raw = env[ENV.memberOus]?.trim() || undefined;
  const ous = raw?.split(',').map((id) => id.trim());
  const bad = ous?.find((id) => !ORGANIZATIONAL_UNIT_PATTERN.test(id));
  if (bad !== undefined) {
    throw new ConfigError(
      `${ENV.memberOus}=${JSON.stringify(raw)} is not allowed: ${JSON.stringify(bad)} is not ${ORGANIZATIONAL_UNIT_ALLOWED}; use a comma-separated list of them, or leave it unset`,
    );
  }
  return ous === undefined ? undefined : [...new Set(ous)];
}

/**
 * The sweep's own check at cold start: in organization mode it must know where the members come from, the
 * allow-list or the management account's reader role. The function's own credentials are not tried: they can
 * list an organization only in its management account or a delegated administrator, and KeyWarden grants its
 * roles no `organizations:` action, so the sweep would fail at every run instead of once, at deployment.
 */
export function requireSweepAccountSource(config: Config): void {
  if (config.memberRoleName === undefined) return;
  if (config.memberAccountIds !== undefined || config.organizationRoleArn !== undefined) return;
  throw new ConfigError(
    `${ENV.memberRoleName} is set but neither ${ENV.memberAccountIds} nor ${ENV.organizationRoleArn} is: the sweep cannot tell which member accounts to sweep; set one of them`,
  );
}

/** Parses and validates the environment; throws ConfigError naming the variable, the value and what is allowed. */
export function loadConfig(env: Env): Config {
  const tagAllowed = 'an IAM tag key (1-128 letters, digits, spaces and _.:/=+-@, not starting with aws:)';
  const exemptTag = setValue(env, ENV.exemptTag, tagAllowed) ?? DEFAULTS.exemptTag;
  if (!TAG_KEY_PATTERN.test(exemptTag) || exemptTag.toLowerCase().startsWith('aws:')) {
    throw notAllowed(ENV.exemptTag, env[ENV.exemptTag], tagAllowed);
  }
  const busAllowed = 'an event bus name or ARN, or leave it unset';
  const bus = setValue(env, ENV.eventBusName, busAllowed);
  if (bus !== undefined && !EVENT_BUS_PATTERN.test(bus))
    throw notAllowed(ENV.eventBusName, env[ENV.eventBusName], busAllowed);
  return {
    remediationMode: oneOf(env, ENV.remediationMode, REMEDIATION_MODES, DEFAULTS.remediationMode),
    keepKey: oneOf(env, ENV.keepKey, KEEP_KEY_STRATEGIES, DEFAULTS.keepKey),
    exemptTag,
    rotationGraceHours: wholeNumber(
      env,
      ENV.rotationGraceHours,
      DEFAULTS.rotationGraceHours,
      0,
      MAX_ROTATION_GRACE_HOURS,
    ),
    inUseHours: wholeNumber(env, ENV.inUseHours, DEFAULTS.inUseHours, 0, MAX_IN_USE_HOURS),
    eventBusName: bus,
    consistencyRetries: wholeNumber(env, ENV.consistencyRetries, DEFAULTS.consistencyRetries, 0, 10),
    sweepSource: oneOf(env, ENV.sweepSource, SWEEP_SOURCES, DEFAULTS.sweepSource),
    ...organization(env),
    trustedKeyIssuers: parseTrustedKeyIssuers(env[ENV.trustedKeyIssuers]),
    ownRoleArns: roleArns(env, ENV.ownRoleArns),
    ...exemptionRules(env),
    organizationBusArn: organizationBus(env),
    canaryTableName: canaryTable(env),
  };
}

/** A DynamoDB table name: 3-255 of letters, digits and _.- (also the CLI's --canary-table). */
export const TABLE_NAME = /^[\w.-]{3,255}$/;

/** CANARY_TABLE_NAME: a DynamoDB table name (3-255 of letters, digits and _.-). */
function canaryTable(env: Env): string | undefined {
  const allowed = 'a DynamoDB table name (3-255 letters, digits and _.-), or leave it unset';
  const name = setValue(env, ENV.canaryTableName, allowed);
  if (name !== undefined && !TABLE_NAME.test(name)) {
    throw notAllowed(ENV.canaryTableName, env[ENV.canaryTableName], allowed);
  }
  return name;
}

/** An event bus ARN (also the CLI's --bus). */
export const BUS_ARN = /^arn:aws[\w-]*:events:[a-z0-9-]+:\d{12}:event-bus\/[/.\-_A-Za-z0-9]{1,256}$/;

/** ORGANIZATION_BUS_ARN: an event bus ARN, and only with MEMBER_ROLE_NAME (the check runs through the member role). */
function organizationBus(env: Env): string | undefined {
  const allowed =
    'an event bus ARN (arn:<partition>:events:<region>:<account>:event-bus/<name>), or leave it unset';
  const arn = setValue(env, ENV.organizationBusArn, allowed);
  if (arn === undefined) return undefined;
  if (!BUS_ARN.test(arn)) throw notAllowed(ENV.organizationBusArn, env[ENV.organizationBusArn], allowed);
  if (!env[ENV.memberRoleName]?.trim()) {
    throw new ConfigError(
      `${ENV.organizationBusArn} is set but ${ENV.memberRoleName} is not; set both, or neither`,
    );
  }
  return arn;
}

/** EXEMPTION_APPROVERS and MAX_EXEMPTION_DAYS, and what they allow together. */
function exemptionRules(env: Env): Pick<Config, 'exemptionApprovers' | 'maxExemptionDays'> {
  const exemptionApprovers = parseArnPatterns(env[ENV.exemptionApprovers], ENV.exemptionApprovers);
  const approved = exemptionApprovers.length > 0;
  // With approvers, who set an exemption is proven from CloudTrail, which keeps 90 days.
  const max = approved ? CLOUDTRAIL_LOOKUP_DAYS : MAX_EXEMPTION_DAYS_LIMIT;
  const maxExemptionDays = wholeNumber(env, ENV.maxExemptionDays, DEFAULTS.maxExemptionDays, 1, max);
  if (approved && env[ENV.memberRoleName]?.trim()) {
    throw new ConfigError(
      `${ENV.exemptionApprovers} is set with ${ENV.memberRoleName}: exemption approvers are proven from the CloudTrail of the function's own account only; unset one of them`,
    );
  }
  return { exemptionApprovers, maxExemptionDays };
}
