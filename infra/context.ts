import * as events from 'aws-cdk-lib/aws-events';
import type * as logs from 'aws-cdk-lib/aws-logs';
import { RegionInfo } from 'aws-cdk-lib/region-info';
import {
  IAM_EVENT_REGION,
  type KeepKeyStrategy,
  type RemediationMode,
  type SweepSource,
} from '../functions/shared/constants.ts';
import { SettingError } from './errors.ts';
import type { KeyWardenStackProps } from './keywarden-stack.ts';

/** The context keys the app reads (`-c key=value` or `cdk.json`). */
export const CONTEXT_KEYS = [
  'remediationMode',
  'keepKey',
  'exemptTag',
  'rotationGraceHours',
  'alarmEmail',
  'sweepSchedule',
  'sweepSource',
  'notificationBusName',
  'createTrail',
  'logRetentionDays',
  'homeRegion',
  'trustedKeyIssuers',
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
        throw new Error(`context ${key}=${JSON.stringify(value)} is not allowed; use a list of strings`);
      }
      return (value as string[]).map((entry) => entry.trim()).filter((entry) => entry !== '');
    }
    return text(key)
      ?.split(',')
      .map((entry) => entry.trim())
      .filter((entry) => entry !== '');
  };

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
      alarmEmail: text('alarmEmail'),
      createTrail: flag('createTrail'),
      sweepSchedule: sweepSchedule === undefined ? undefined : events.Schedule.expression(sweepSchedule),
      trustedKeyIssuers: list('trustedKeyIssuers'),
    },
  };
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
