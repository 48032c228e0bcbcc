/** Names and defaults shared by the functions and the infrastructure. No runtime dependencies. */

/** Environment variables the functions read. */
export const ENV = {
  remediationMode: 'REMEDIATION_MODE',
  keepKey: 'KEEP_KEY',
  exemptTag: 'EXEMPT_TAG',
  rotationGraceHours: 'ROTATION_GRACE_HOURS',
  eventBusName: 'EVENT_BUS_NAME',
  consistencyRetries: 'CONSISTENCY_RETRIES',
  sweepSource: 'SWEEP_SOURCE',
  memberRoleName: 'MEMBER_ROLE_NAME',
  memberAccountIds: 'MEMBER_ACCOUNT_IDS',
  organizationRoleArn: 'ORGANIZATION_ROLE_ARN',
  sweepQueueUrl: 'SWEEP_QUEUE_URL',
  trustedKeyIssuers: 'TRUSTED_KEY_ISSUERS',
  ownRoleArns: 'OWN_ROLE_ARNS',
} as const;

export const REMEDIATION_MODES = ['off', 'dry-run', 'deactivate'] as const;
export type RemediationMode = (typeof REMEDIATION_MODES)[number];

export const KEEP_KEY_STRATEGIES = ['newest', 'oldest', 'last-used', 'auto'] as const;
export type KeepKeyStrategy = (typeof KEEP_KEY_STRATEGIES)[number];

export const SWEEP_SOURCES = ['credential-report', 'full'] as const;
export type SweepSource = (typeof SWEEP_SOURCES)[number];

/** IAM tag keys: 1-128 letters, digits, spaces and _.:/=+-@ (and not starting with `aws:`). */
export const TAG_KEY_PATTERN = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]{1,128}$/u;

/**
 * One TRUSTED_KEY_ISSUERS entry: an IAM or STS ARN (`arn:partition:service:region:account:resource`) in which `*`
 * stands for any run of characters. Commas separate entries, so a name with a comma is matched with `*`.
 */
export const TRUSTED_KEY_ISSUER_PATTERN = /^arn:[\w*-]+:[\w*-]+:[\w*-]*:[\d*]*:[\w+=.@/*-]+$/;
export const MAX_TRUSTED_KEY_ISSUERS = 50;

/** EventBridge event bus name (1-256 of letters, digits and ._-/) or event bus ARN. */
export const EVENT_BUS_PATTERN =
  /^(arn:aws[\w-]*:events:[a-z0-9-]+:\d{12}:event-bus\/)?[/.\-_A-Za-z0-9]{1,256}$/;

/** Upper bound of ROTATION_GRACE_HOURS: 90 days, the benchmark's rotation period. */
export const MAX_ROTATION_GRACE_HOURS = 24 * 90;

/** How every message words an integer range, e.g. "a whole number from 0 to 2160". */
export const wholeNumberRange = (min: number, max: number): string => `a whole number from ${min} to ${max}`;

export const DEFAULTS = {
  remediationMode: 'off' as RemediationMode,
  keepKey: 'newest' as KeepKeyStrategy,
  exemptTag: 'keywarden:exempt',
  rotationGraceHours: 0,
  consistencyRetries: 3,
  sweepSource: 'credential-report' as SweepSource,
  trustedKeyIssuers: [] as readonly string[],
} as const;

/** CloudTrail access-key event names the detector handles. */
export const KEY_EVENT_NAMES = ['CreateAccessKey', 'UpdateAccessKey', 'DeleteAccessKey'] as const;
/** Tag changes, so an exemption added or removed is evaluated at once (the parser keeps only the exempt tag's). */
export const TAG_EVENT_NAMES = ['TagUser', 'UntagUser'] as const;
/** Every event name the rule matches. */
export const WATCHED_EVENT_NAMES = [...KEY_EVENT_NAMES, ...TAG_EVENT_NAMES] as const;
export type KeyEventName = (typeof KEY_EVENT_NAMES)[number];
export type WatchedEventName = (typeof WATCHED_EVENT_NAMES)[number];

/** The EventBridge pattern for successful IAM access-key and user-tag calls (IAM events arrive in us-east-1 only). */
export const KEY_EVENT_PATTERN = {
  source: ['aws.iam'],
  'detail-type': ['AWS API Call via CloudTrail'],
  detail: {
    eventSource: ['iam.amazonaws.com'],
    eventName: [...WATCHED_EVENT_NAMES],
    errorCode: [{ exists: false }],
  },
} as const;

/** Region where IAM's CloudTrail events reach EventBridge in the `aws` partition. */
export const IAM_EVENT_REGION = 'us-east-1';

/**
 * Where IAM's CloudTrail events arrive, by partition: `aws` is confirmed (us-east-1); `aws-cn` (cn-north-1) and
 * `aws-us-gov` (us-gov-west-1) rest on field reports, not AWS documentation (IAM signs there).
 */
export const IAM_EVENT_REGIONS: Readonly<Record<string, string>> = {
  aws: IAM_EVENT_REGION,
  'aws-cn': 'cn-north-1',
  'aws-us-gov': 'us-gov-west-1',
};

/** The region of {@link IAM_EVENT_REGIONS} for `partition`; undefined for any other partition. */
export function iamEventRegionFor(partition: string): string | undefined {
  return Object.hasOwn(IAM_EVENT_REGIONS, partition) ? IAM_EVENT_REGIONS[partition] : undefined;
}

/** Source of the custom events KeyWarden puts on the notification bus. */
export const NOTIFICATION_SOURCE = 'keywarden';

/** Marker in the SDK user agent, for humans reading CloudTrail; it proves nothing (a client sends what it likes). */
export const USER_AGENT_MARKER = 'keywarden';

/** Name of the role KeyWarden assumes in each member account (organization mode). */
export const DEFAULT_MEMBER_ROLE_NAME = 'KeyWardenMember';

/** Session names of the member-role sessions, so CloudTrail in the member names the KeyWarden function. */
export const MEMBER_SESSION_NAMES = {
  detector: 'keywarden-detector',
  sweep: 'keywarden-sweep',
  cli: 'keywarden-cli',
} as const;

/** SQS queue URLs: `https://sqs.<region>.amazonaws.com/<account>/<name>` (any host, for emulators). */
export const QUEUE_URL_PATTERN = /^https?:\/\/[^\s/]+\/\d{12}\/[\w-]{1,80}$/;

/** IAM role names: 1-64 characters of letters, digits and +=,.@_- */
export const ROLE_NAME_PATTERN = /^[\w+=,.@-]{1,64}$/;

/** AWS account ids: exactly 12 digits. */
export const ACCOUNT_ID_PATTERN = /^\d{12}$/;

/** CloudWatch namespace of the metrics the functions publish (embedded metric format). */
export const METRICS_NAMESPACE = 'KeyWarden';

/** The metrics the functions publish, all counts; the dashboard and the construct's helpers read these names. */
export const METRIC_NAMES = {
  eventsEvaluated: 'EventsEvaluated',
  eventsSkipped: 'EventsSkipped',
  violations: 'Violations',
  keysDeactivated: 'KeysDeactivated',
  findingsImported: 'FindingsImported',
  awsErrors: 'AwsErrors',
} as const;
export type MetricName = (typeof METRIC_NAMES)[keyof typeof METRIC_NAMES];

/** Each function's `service` dimension (its Powertools service name, as in its logs). */
export const METRIC_SERVICES = { detector: 'keywarden-detector', sweep: 'keywarden-sweep' } as const;

/** The extra dimension of `EventsSkipped`: why the event was skipped. */
export const SKIP_REASON_DIMENSION = 'reason';

export const PRODUCT_NAME = 'KeyWarden';
export const COMPANY_NAME = 'KeyWarden';

/**
 * Region codes by partition, as the AWS SDK's partition table writes them (its `regionRegex`); a region matching
 * none (a typo such as `us-east`, `mars-1`) is refused rather than sent to an endpoint that does not exist.
 */
export const REGION_PATTERNS: Readonly<Record<string, RegExp>> = {
  aws: /^(us|eu|ap|sa|ca|me|af|il|mx)-\w+-\d+$/,
  'aws-cn': /^cn-\w+-\d+$/,
  'aws-us-gov': /^us-gov-\w+-\d+$/,
  'aws-iso': /^us-iso-\w+-\d+$/,
  'aws-iso-b': /^us-isob-\w+-\d+$/,
  'aws-iso-e': /^eu-isoe-\w+-\d+$/,
  'aws-iso-f': /^us-isof-\w+-\d+$/,
  'aws-eusc': /^eusc-(de)-\w+-\d+$/,
};

/** Whether `region` is a region code of some partition (lower case, as AWS writes them). */
export function isRegionCode(region: string): boolean {
  return Object.values(REGION_PATTERNS).some((pattern) => pattern.test(region));
}
