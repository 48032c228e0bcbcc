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
  wholeNumberRange,
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

// EventBridge bus name or ARN.
const BUS = /^(arn:aws[\w-]*:events:[a-z0-9-]+:\d{12}:event-bus\/)?[/.\-_A-Za-z0-9]{1,256}$/;

/** Parses and validates the environment; throws ConfigError naming the variable, the value and what is allowed. */
export function loadConfig(env: Env): Config {
  const tagAllowed = 'an IAM tag key (1-128 letters, digits, spaces and _.:/=+-@, not starting with aws:)';
  const exemptTag = setValue(env, ENV.exemptTag, tagAllowed) ?? DEFAULTS.exemptTag;
  if (!TAG_KEY_PATTERN.test(exemptTag) || exemptTag.toLowerCase().startsWith('aws:')) {
    throw notAllowed(ENV.exemptTag, env[ENV.exemptTag], tagAllowed);
  }
  const busAllowed = 'an event bus name or ARN, or leave it unset';
  const bus = setValue(env, ENV.eventBusName, busAllowed);
  if (bus !== undefined && !BUS.test(bus))
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
    eventBusName: bus,
    consistencyRetries: wholeNumber(env, ENV.consistencyRetries, DEFAULTS.consistencyRetries, 0, 10),
    sweepSource: oneOf(env, ENV.sweepSource, SWEEP_SOURCES, DEFAULTS.sweepSource),
  };
}
