import * as events from 'aws-cdk-lib/aws-events';
import type * as logs from 'aws-cdk-lib/aws-logs';
import { RegionInfo } from 'aws-cdk-lib/region-info';
import {
  ACCOUNT_ID_PATTERN,
  IAM_EVENT_REGION,
  type KeepKeyStrategy,
  type RemediationMode,
  ROLE_NAME_PATTERN,
  type SweepSource,
} from '../functions/shared/constants.ts';
import type { KeyWardenOrganizationSettings } from './central-stack.ts';
import { SettingError } from './errors.ts';
import type { KeyWardenStackProps } from './keywarden-stack.ts';
import { validateAlarmEmail } from './monitoring.ts';
import {
  ALLOWED,
  ORGANIZATION_ID_PATTERN,
  ORGANIZATIONAL_UNIT_PATTERN,
  PRINCIPAL_ARN_PATTERN,
} from './organization-settings.ts';

/** The context keys the app reads (`-c key=value` or `cdk.json`). */
export const CONTEXT_KEYS = [
  'remediationMode',
  'keepKey',
  'exemptTag',
  'rotationGraceHours',
  'inUseHours',
  'alarmEmail',
  'sweepSchedule',
  'sweepSource',
  'notificationBusName',
  'createTrail',
  'canary',
  'logRetentionDays',
  'homeRegion',
  'trustedKeyIssuers',
  'exemptionApprovers',
  'maxExemptionDays',
  'detectorConcurrency',
  'memberSweepConcurrency',
  'organization',
  'memberOus',
  'memberRoleName',
  'memberAccountIds',
  'managementAccount',
  'memberAlarmEmail',
  'restorePrincipals',
] as const;
export type ContextKey = (typeof CONTEXT_KEYS)[number];

type Lookup = (key: ContextKey) => unknown;
type ProcessEnv = Readonly<Record<string, string | undefined>>;

/**
 * Turns CDK context into stack props. Context from `-c` is always a string, from `cdk.json` it may be typed;
 * both are accepted. Types are checked here, naming the key; allowed values are checked by the construct.
 * The region is `homeRegion`, else the CLI's default region; without either the stack is environment-agnostic.
 */
export function stackPropsFromContext(lookup: Lookup, env: ProcessEnv): KeyWardenStackProps {
  const { text, number, flag, list } = contextReaders(lookup);
  const sweepSchedule = text('sweepSchedule');
  const homeRegion = text('homeRegion');
  if (homeRegion !== undefined) validateRegion(homeRegion);
  const region = homeRegion ?? (env.CDK_DEFAULT_REGION?.trim() || undefined);
  const account = env.CDK_DEFAULT_ACCOUNT?.trim() || undefined;
  return {
    env: region === undefined ? undefined : { account, region },
    notificationBusName: text('notificationBusName'),
    detector: {
      // Allowed values are validated by AccessKeyDetector, whose error names the prop and the value.
      remediationMode: text('remediationMode') as RemediationMode | undefined,
      keepKey: text('keepKey') as KeepKeyStrategy | undefined,
      sweepSource: text('sweepSource') as SweepSource | undefined,
      logRetention: number('logRetentionDays') as logs.RetentionDays | undefined,
      exemptTag: text('exemptTag'),
      rotationGraceHours: number('rotationGraceHours'),
      inUseHours: number('inUseHours'),
      alarmEmail: text('alarmEmail'),
      createTrail: flag('createTrail'),
      canary: flag('canary'),
      sweepSchedule: sweepSchedule === undefined ? undefined : events.Schedule.expression(sweepSchedule),
      trustedKeyIssuers: list('trustedKeyIssuers'),
      exemptionApprovers: list('exemptionApprovers'),
      maxExemptionDays: number('maxExemptionDays'),
      // Ranges are checked by AccessKeyDetector, whose error names the prop and the value.
      detectorConcurrency: number('detectorConcurrency'),
      memberSweepConcurrency: number('memberSweepConcurrency'),
    },
  };
}

/** The context keys that only organization mode reads. */
const ORGANIZATION_ONLY_KEYS = [
  'memberOus',
  'memberRoleName',
  'memberAccountIds',
  'managementAccount',
  'memberAlarmEmail',
  'restorePrincipals',
] as const satisfies readonly ContextKey[];

/**
 * Organization mode from CDK context: `organization=o-…` and `memberOus=ou-…,ou-…` (both required), optionally
 * `memberRoleName`, `memberAccountIds`, `managementAccount`, `memberAlarmEmail` and `restorePrincipals`.
 * Undefined without `organization`; an organization-only key without it is an error rather than ignored.
 * Every value is checked here, naming the context key.
 */
export function organizationFromContext(lookup: Lookup): KeyWardenOrganizationSettings | undefined {
  const { text, list } = contextReaders(lookup);
  const organizationId = text('organization');
  if (organizationId === undefined) {
    const isSet = (value: unknown): boolean =>
      value !== undefined &&
      value !== null &&
      !(typeof value === 'string' && value.trim() === '') &&
      !(Array.isArray(value) && value.length === 0);
    const stray = ORGANIZATION_ONLY_KEYS.find((key) => isSet(lookup(key)));
    if (stray !== undefined) {
      throw new SettingError(
        `context ${stray}=${JSON.stringify(lookup(stray))} is only read in organization mode; add -c organization=o-… or remove it`,
      );
    }
    return undefined;
  }
  const check = (key: ContextKey, value: string, pattern: RegExp, allowed: string): string => {
    if (!pattern.test(value)) {
      throw new SettingError(`context ${key}=${JSON.stringify(value)} is not allowed; use ${allowed}`);
    }
    return value;
  };
  const checkList = (key: ContextKey, pattern: RegExp, allowed: string): string[] | undefined => {
    const values = list(key);
    if (values === undefined || values.length === 0) return undefined;
    for (const value of values) {
      if (!pattern.test(value)) {
        throw new SettingError(
          `context ${key}=${JSON.stringify(values.join(','))} is not allowed: ${JSON.stringify(value)} is not valid; use a comma-separated list, each ${allowed}`,
        );
      }
    }
    return [...new Set(values)];
  };

  check('organization', organizationId, ORGANIZATION_ID_PATTERN, ALLOWED.organizationId);
  const memberOus = checkList('memberOus', ORGANIZATIONAL_UNIT_PATTERN, ALLOWED.organizationalUnit);
  if (memberOus === undefined) {
    throw new SettingError(
      'context memberOus is not set; organization mode deploys the member stack to these OUs: use -c memberOus=ou-…,ou-… (or the root, r-…)',
    );
  }
  const memberRoleName = text('memberRoleName');
  if (memberRoleName !== undefined)
    check('memberRoleName', memberRoleName, ROLE_NAME_PATTERN, ALLOWED.roleName);
  const managementAccountId = text('managementAccount');
  if (managementAccountId !== undefined) {
    check('managementAccount', managementAccountId, ACCOUNT_ID_PATTERN, ALLOWED.accountId);
  }
  const memberAlarmEmail = text('memberAlarmEmail');
  if (memberAlarmEmail !== undefined) {
    try {
      validateAlarmEmail(memberAlarmEmail);
    } catch {
      throw new SettingError(
        `context memberAlarmEmail=${JSON.stringify(memberAlarmEmail)} is not allowed; use an e-mail address`,
      );
    }
  }
  return {
    organizationId,
    memberOus,
    memberRoleName,
    memberAccountIds: checkList('memberAccountIds', ACCOUNT_ID_PATTERN, ALLOWED.accountId),
    managementAccountId,
    memberAlarmEmail,
    restorePrincipalArns: checkList('restorePrincipals', PRINCIPAL_ARN_PATTERN, ALLOWED.principalArn),
  };
}

/** Typed reads of context values, each naming the key in its error. */
function contextReaders(lookup: Lookup) {
  const text = (key: ContextKey): string | undefined => {
    const value = lookup(key);
    if (value === undefined || value === null) return undefined;
    if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') {
      throw new SettingError(`context ${key}=${JSON.stringify(value)} is not allowed; use a string`);
    }
    const trimmed = String(value).trim();
    return trimmed === '' ? undefined : trimmed;
  };
  const number = (key: ContextKey): number | undefined => {
    const raw = text(key);
    if (raw === undefined) return undefined;
    if (!/^\d+$/.test(raw)) {
      throw new SettingError(`context ${key}=${JSON.stringify(raw)} is not allowed; use a whole number`);
    }
    return Number(raw);
  };
  const flag = (key: ContextKey): boolean | undefined => {
    const raw = text(key);
    if (raw === undefined) return undefined;
    if (raw !== 'true' && raw !== 'false') {
      throw new SettingError(`context ${key}=${JSON.stringify(raw)} is not allowed; use true or false`);
    }
    return raw === 'true';
  };

  // A comma list from `-c`, or a list of strings in cdk.json.
  const list = (key: ContextKey): string[] | undefined => {
    const value = lookup(key);
    if (Array.isArray(value)) {
      if (value.some((entry) => typeof entry !== 'string')) {
        throw new SettingError(
          `context ${key}=${JSON.stringify(value)} is not allowed; use a list of strings`,
        );
      }
      return (value as string[]).map((entry) => entry.trim()).filter((entry) => entry !== '');
    }
    return text(key)
      ?.split(',')
      .map((entry) => entry.trim())
      .filter((entry) => entry !== '');
  };

  return { text, number, flag, list };
}

/** Throws unless `region` is a region code aws-cdk-lib knows, in lower case as AWS writes them. */
export function validateRegion(region: string): void {
  const known = RegionInfo.regions.map((info) => info.name);
  if (known.includes(region)) return;
  const hint = known.includes(region.toLowerCase())
    ? `write it in lower case: ${region.toLowerCase()}`
    : `use the code of a region aws-cdk-lib knows, in lower case, such as ${IAM_EVENT_REGION} or eu-west-1`;
  throw new SettingError(`context homeRegion=${JSON.stringify(region)} is not allowed; ${hint}`);
}
