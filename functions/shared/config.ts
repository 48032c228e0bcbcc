import {
  DEFAULTS,
  ENV,
  KEEP_KEY_STRATEGIES,
  type KeepKeyStrategy,
  MAX_ROTATION_GRACE_HOURS,
  REMEDIATION_MODES,
  type RemediationMode,
  SWEEP_SOURCES,
  type SweepSource,
  TAG_KEY_PATTERN,
} from './constants.ts';
import { ConfigError } from './errors.ts';

/** Validated configuration, read once at cold start. */
export interface Config {
  readonly remediationMode: RemediationMode;
  readonly keepKey: KeepKeyStrategy;
  readonly exemptTag: string;
  readonly rotationGraceHours: number;
  /** Unset: no notifications. */
  readonly eventBusName: string | undefined;
  /** How many times to re-read IAM when the listing does not yet show what the event reported. */
  readonly consistencyRetries: number;
  readonly sweepSource: SweepSource;
}

type Env = Readonly<Record<string, string | undefined>>;

function oneOf<T extends string>(env: Env, name: string, allowed: readonly T[], fallback: T): T {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const value = raw.trim();
  if ((allowed as readonly string[]).includes(value)) return value as T;
  throw new ConfigError(`${name}=${JSON.stringify(raw)} is not allowed; use one of: ${allowed.join(', ')}`);
}

function number(
  env: Env,
  name: string,
  fallback: number,
  min: number,
  max: number,
  integer: boolean,
): number {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const value = Number(raw.trim());
  if (!Number.isFinite(value) || value < min || value > max || (integer && !Number.isInteger(value))) {
    throw new ConfigError(
      `${name}=${JSON.stringify(raw)} is not allowed; use ${integer ? 'a whole number' : 'a number'} from ${min} to ${max}`,
    );
  }
  return value;
}

// EventBridge bus name or ARN.
const BUS = /^(arn:aws[\w-]*:events:[a-z0-9-]+:\d{12}:event-bus\/)?[/.\-_A-Za-z0-9]{1,256}$/;

/** Parses and validates the environment; throws ConfigError naming the variable, the value and what is allowed. */
export function loadConfig(env: Env): Config {
  const exemptTag = env[ENV.exemptTag]?.trim() || DEFAULTS.exemptTag;
  if (!TAG_KEY_PATTERN.test(exemptTag) || exemptTag.toLowerCase().startsWith('aws:')) {
    throw new ConfigError(
      `${ENV.exemptTag}=${JSON.stringify(env[ENV.exemptTag])} is not allowed; use an IAM tag key (1-128 letters, digits, spaces and _.:/=+-@, not starting with aws:)`,
    );
  }
  const bus = env[ENV.eventBusName]?.trim() || undefined;
  if (bus !== undefined && !BUS.test(bus)) {
    throw new ConfigError(
      `${ENV.eventBusName}=${JSON.stringify(bus)} is not allowed; use an event bus name or ARN, or leave it unset`,
    );
  }
  return {
    remediationMode: oneOf(env, ENV.remediationMode, REMEDIATION_MODES, DEFAULTS.remediationMode),
    keepKey: oneOf(env, ENV.keepKey, KEEP_KEY_STRATEGIES, DEFAULTS.keepKey),
    exemptTag,
    rotationGraceHours: number(
      env,
      ENV.rotationGraceHours,
      DEFAULTS.rotationGraceHours,
      0,
      MAX_ROTATION_GRACE_HOURS,
      false,
    ),
    eventBusName: bus,
    consistencyRetries: number(env, ENV.consistencyRetries, DEFAULTS.consistencyRetries, 0, 10, true),
    sweepSource: oneOf(env, ENV.sweepSource, SWEEP_SOURCES, DEFAULTS.sweepSource),
  };
}
