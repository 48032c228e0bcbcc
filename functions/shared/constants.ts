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
  memberOus: 'MEMBER_OUS',
  organizationRoleArn: 'ORGANIZATION_ROLE_ARN',
  sweepQueueUrl: 'SWEEP_QUEUE_URL',
  trustedKeyIssuers: 'TRUSTED_KEY_ISSUERS',
  ownRoleArns: 'OWN_ROLE_ARNS',
  exemptionApprovers: 'EXEMPTION_APPROVERS',
  maxExemptionDays: 'MAX_EXEMPTION_DAYS',
  inUseHours: 'IN_USE_HOURS',
  organizationBusArn: 'ORGANIZATION_BUS_ARN',
  canaryTableName: 'CANARY_TABLE_NAME',
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
 * An ARN's six parts: `arn`, partition, service, region, account and resource, split at the first five colons (the
 * resource keeps any further colon, as a role or user path may hold one). Undefined for fewer than six parts.
 */
export function arnParts(arn: string): readonly string[] | undefined {
  const parts: string[] = [];
  let rest = arn;
  for (let index = 0; index < 5; index++) {
    const colon = rest.indexOf(':');
    if (colon < 0) return undefined;
    parts.push(rest.slice(0, colon));
    rest = rest.slice(colon + 1);
  }
  parts.push(rest);
  return parts;
}

// ArnLike wildcards: `*` any run of characters, `?` one character, both within one part.
const PARTITION_PART = /^[a-z*?][a-z0-9*?-]*$/;
const ACCOUNT_PART = /^[\d*?]+$/;
// A role or user path may hold any of \u0021-\u007E; commas separate the entries of a list.
const RESOURCE_PART = /^[\u0021-\u002b\u002d-\u007e]+$/;

/**
 * Why `pattern` is not an ArnLike pattern of an IAM or STS principal (`arn:<partition>:iam|sts::<account>:<resource>`,
 * `*` and `?` within a part), or undefined when it is one. Trust patterns are matched the way IAM's ArnLike does, so
 * the service must be named and the region empty: a wildcard there could only widen the trust.
 */
export function principalArnPatternProblem(pattern: string): string | undefined {
  if (pattern.length > 2048) return 'longer than 2048 characters';
  const parts = arnParts(pattern);
  if (parts === undefined)
    return 'an ARN has six colon-separated parts (arn:partition:service:region:account:resource)';
  const [prefix, partition, service, region, account, resource] = parts as [
    string,
    string,
    string,
    string,
    string,
    string,
  ];
  if (prefix !== 'arn') return 'an ARN begins with arn:';
  if (!PARTITION_PART.test(partition))
    return `partition ${JSON.stringify(partition)} is not a partition (aws, aws-cn, aws-us-gov)`;
  if (service !== 'iam' && service !== 'sts')
    return `service ${JSON.stringify(service)} is neither iam nor sts`;
  if (region !== '')
    return `region ${JSON.stringify(region)} must be empty (IAM and STS principal ARNs have none)`;
  if (!ACCOUNT_PART.test(account)) return `account ${JSON.stringify(account)} is not a 12-digit account id`;
  if (!RESOURCE_PART.test(resource))
    return `resource ${JSON.stringify(resource)} is empty or holds a space, a comma or a character outside \\u0021-\\u007E`;
  return undefined;
}

/** How every message words an allowed principal ARN pattern. */
export const PRINCIPAL_ARN_PATTERN_ALLOWED =
  'IAM or STS ARNs with * wildcards, comma-separated, each arn:<partition>:iam::<account>:<resource> or arn:<partition>:sts::<account>:<resource> (e.g. arn:aws:iam::123456789012:role/provisioning,arn:aws:sts::123456789012:assumed-role/ci-*/*)';

export const MAX_TRUSTED_KEY_ISSUERS = 50;

/** EventBridge event bus name (1-256 of letters, digits and ._-/) or event bus ARN. */
export const EVENT_BUS_PATTERN =
  /^(arn:aws[\w-]*:events:[a-z0-9-]+:\d{12}:event-bus\/)?[/.\-_A-Za-z0-9]{1,256}$/;

/** Upper bound of ROTATION_GRACE_HOURS: 90 days, the benchmark's rotation period. */
export const MAX_ROTATION_GRACE_HOURS = 24 * 90;

/** Upper bound of IN_USE_HOURS: 90 days, the benchmark's rotation period. */
export const MAX_IN_USE_HOURS = 24 * 90;

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
  maxExemptionDays: 90,
  /** A key used within this many hours is in use and not switched off; 0 turns the protection off. */
  inUseHours: 24,
} as const;

/** Upper bound of MAX_EXEMPTION_DAYS without approvers: a year. */
export const MAX_EXEMPTION_DAYS_LIMIT = 365;
/**
 * How far back CloudTrail LookupEvents reaches (management events of the last 90 days): with exemption approvers,
 * who set an exemption is proven from there, so MAX_EXEMPTION_DAYS cannot exceed it.
 */
export const CLOUDTRAIL_LOOKUP_DAYS = 90;

/** CloudTrail access-key event names the detector handles. */
export const KEY_EVENT_NAMES = ['CreateAccessKey', 'UpdateAccessKey', 'DeleteAccessKey'] as const;
/** Tag changes, so an exemption added or removed is evaluated at once (the parser keeps only the exempt tag's). */
export const TAG_EVENT_NAMES = ['TagUser', 'UntagUser'] as const;
/**
 * User changes that move what KeyWarden recorded: `UpdateUser` renames a user when it carries `NewUserName` (the
 * parser skips a path-only change), and the findings follow the user to its new name.
 */
export const USER_EVENT_NAMES = ['UpdateUser'] as const;
/** Every event name the rule matches. */
export const WATCHED_EVENT_NAMES = [...KEY_EVENT_NAMES, ...TAG_EVENT_NAMES, ...USER_EVENT_NAMES] as const;
export type KeyEventName = (typeof KEY_EVENT_NAMES)[number];
export type WatchedEventName = (typeof WATCHED_EVENT_NAMES)[number];

/**
 * The EventBridge pattern for successful IAM access-key, user-tag and user-rename calls (IAM events arrive in
 * us-east-1 only).
 */
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

/**
 * Name of the rule each member stack forwards IAM events to the central bus with: fixed, so the central sweep can
 * read it in every member (DescribeRule) without knowing how the member stack was deployed.
 */
export const FORWARDING_RULE_NAME = 'keywarden-forward-key-events';

/**
 * The canary: each sweep tags this user (no credentials, no policies, no console) with {@link CANARY_TAG_KEY} set to
 * the send time; the TagUser event proves that events of that account reach the detector.
 */
export const CANARY_USER_NAME = 'keywarden-canary';
export const CANARY_TAG_KEY = 'keywarden:canary';

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

/** An organizational unit id, or the organization's root (`r-…`), as StackSets' DeploymentTargets accept them. */
export const ORGANIZATIONAL_UNIT_PATTERN = /^(ou-[0-9a-z]{4,32}-[a-z0-9]{8,32}|r-[0-9a-z]{4,32})$/;

/** How every message words an allowed organizational unit id. */
export const ORGANIZATIONAL_UNIT_ALLOWED =
  'an organizational unit id (ou-ab12-cd34ef56: ou-, 4 to 32 and then 8 to 32 lower-case letters or digits) or the root id (r-ab12)';

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

/** The organization sweep's own metric: member accounts its coverage check found blind (a count). */
export const COVERAGE_METRIC_NAMES = { membersBlind: 'MembersBlind' } as const;
export type MetricName =
  | (typeof METRIC_NAMES)[keyof typeof METRIC_NAMES]
  | (typeof COVERAGE_METRIC_NAMES)[keyof typeof COVERAGE_METRIC_NAMES];

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
