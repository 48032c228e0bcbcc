/**
 * Whether KeyWarden can see a member account: its member role can be assumed, and its forwarding rule exists, is
 * enabled, matches the detector's events and targets the central bus. The health finding that says so. Pure: the
 * observations, the expected rule and the time are passed in.
 */

import type { Finding } from './finding.ts';
import { buildHealthFinding } from './health-finding.ts';
import type { Read } from './trail-health.ts';
import type { AccountContext } from './types.ts';

/** The forwarding rule as DescribeRule and ListTargetsByRule show it. */
export interface ForwardingRuleObservation {
  readonly arn: string;
  /** `ENABLED | DISABLED | ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS`. */
  readonly state: string;
  /** The rule's pattern as EventBridge stores it (a JSON string); undefined for a scheduled rule. */
  readonly eventPattern: string | undefined;
  readonly targetArns: readonly string[];
}

/** What the sweep saw of one member through its member role. */
export interface CoverageObservation {
  /** The member role's AssumeRole; a failure leaves the rest unread. */
  readonly role: Read<true>;
  /** The forwarding rule; `undefined` value: the rule does not exist. Absent when the role failed. */
  readonly rule?: Read<ForwardingRuleObservation | undefined> | undefined;
}

/** What the rule must be: the detector's pattern, forwarding to the central bus. */
export interface ExpectedForwarding {
  readonly ruleName: string;
  readonly eventPattern: unknown;
  readonly centralBusArn: string;
}

/** Why a member is not covered. */
export type CoverageProblem =
  | { readonly code: 'ROLE_UNASSUMABLE'; readonly detail: string }
  | { readonly code: 'RULE_UNREADABLE'; readonly detail: string }
  | { readonly code: 'RULE_MISSING' }
  | { readonly code: 'RULE_DISABLED'; readonly state: string }
  | { readonly code: 'RULE_PATTERN_CHANGED' }
  | { readonly code: 'RULE_RETARGETED'; readonly targetArns: readonly string[] }
  | { readonly code: 'CANARY_LOST'; readonly sentAt: string };

/** Covered (PASSED) when nothing is wrong, else blind (FAILED) with every problem seen. */
export type CoverageHealth =
  | { readonly status: 'covered'; readonly problems: readonly [] }
  | { readonly status: 'blind'; readonly problems: readonly CoverageProblem[] };

/**
 * A JSON value with object keys sorted and arrays sorted by their canonical form: EventBridge matches a pattern's
 * arrays as sets and ignores key order, so two patterns with the same canonical form match the same events.
 */
export function canonicalPattern(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalPattern).sort().join(',')}]`;
  if (typeof value === 'object' && value !== null) {
    const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : 1));
    return `{${entries.map(([key, item]) => `${JSON.stringify(key)}:${canonicalPattern(item)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/** Whether the stored pattern (a JSON string) matches the same events as `expected`. */
export function samePattern(stored: string | undefined, expected: unknown): boolean {
  if (stored === undefined) return false;
  try {
    return canonicalPattern(JSON.parse(stored)) === canonicalPattern(expected);
  } catch {
    return false;
  }
}

function ruleProblems(rule: ForwardingRuleObservation, expected: ExpectedForwarding): CoverageProblem[] {
  const problems: CoverageProblem[] = [];
  if (rule.state === 'DISABLED') problems.push({ code: 'RULE_DISABLED', state: rule.state });
  if (!samePattern(rule.eventPattern, expected.eventPattern)) problems.push({ code: 'RULE_PATTERN_CHANGED' });
  if (!rule.targetArns.includes(expected.centralBusArn)) {
    problems.push({ code: 'RULE_RETARGETED', targetArns: rule.targetArns });
  }
  return problems;
}

/** Decides a member's coverage from what the sweep saw. */
export function evaluateCoverage(
  observation: CoverageObservation,
  expected: ExpectedForwarding,
): CoverageHealth {
  const problems: CoverageProblem[] = [];
  if (!observation.role.ok) {
    problems.push({
      code: 'ROLE_UNASSUMABLE',
      detail: `${observation.role.code}: ${observation.role.message}`,
    });
  } else if (observation.rule !== undefined) {
    const { rule } = observation;
    if (!rule.ok) problems.push({ code: 'RULE_UNREADABLE', detail: `${rule.code}: ${rule.message}` });
    else if (rule.value === undefined) problems.push({ code: 'RULE_MISSING' });
    else problems.push(...ruleProblems(rule.value, expected));
  }
  return problems.length === 0 ? { status: 'covered', problems: [] } : { status: 'blind', problems };
}

/** The health with `extra` problems added (the canary's, judged apart from the rule). */
export function withProblems(health: CoverageHealth, extra: readonly CoverageProblem[]): CoverageHealth {
  const problems = [...health.problems, ...extra];
  return problems.length === 0 ? { status: 'covered', problems: [] } : { status: 'blind', problems };
}

export const COVERAGE_HEALTH_GENERATOR_ID = 'keywarden/health/coverage';
const COVERAGE_TYPE = 'Software and Configuration Checks/AWS Security Best Practices';
const COVERAGE_URL = 'https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-cross-account.html';
const FIELD = 'keywarden/coverage';

/** One finding per covered account; in the central hub when the member's own hub is out of reach. */
export function coverageFindingId(accountId: string): string {
  return `keywarden/health/${accountId}/coverage`;
}

/** One problem in words, for the finding and the CLI. */
export function describeProblem(problem: CoverageProblem, expected: ExpectedForwarding): string {
  switch (problem.code) {
    case 'ROLE_UNASSUMABLE':
      return `the member role could not be assumed (${problem.detail}), so KeyWarden can neither check nor report this account`;
    case 'RULE_UNREADABLE':
      return `the forwarding rule ${expected.ruleName} could not be read (${problem.detail})`;
    case 'RULE_MISSING':
      return `the forwarding rule ${expected.ruleName} does not exist`;
    case 'RULE_DISABLED':
      return `the forwarding rule ${expected.ruleName} is ${problem.state}`;
    case 'RULE_PATTERN_CHANGED':
      return `the forwarding rule ${expected.ruleName} no longer matches the detector's events (its event pattern was changed)`;
    case 'RULE_RETARGETED':
      return `the forwarding rule ${expected.ruleName} does not target the central bus ${expected.centralBusArn} (targets: ${problem.targetArns.join(', ') || 'none'})`;
    case 'CANARY_LOST':
      return `events from this account do not reach KeyWarden: last canary sent ${problem.sentAt}, never received`;
  }
}

const ADVICE: Readonly<Record<CoverageProblem['code'], string>> = {
  ROLE_UNASSUMABLE:
    'Check that the KeyWarden member stack is deployed in this account and that no SCP or edit of its role trust blocks the central sweep.',
  RULE_UNREADABLE: 'Restore the member role’s events:DescribeRule and events:ListTargetsByRule grants.',
  RULE_MISSING: 'Redeploy the KeyWarden member stack (or its StackSet instance) in this account.',
  RULE_DISABLED: 'Enable the rule: aws events enable-rule --name keywarden-forward-key-events, in us-east-1.',
  RULE_PATTERN_CHANGED: 'Redeploy the KeyWarden member stack to restore the rule’s event pattern.',
  RULE_RETARGETED: 'Redeploy the KeyWarden member stack to restore the rule’s target, the central bus.',
  CANARY_LOST:
    'Check the account’s CloudTrail trail (management write events), its forwarding rule and the detector’s queues and dead-letter queues.',
};

export interface CoverageFindingInput {
  /** The account the finding is about. */
  readonly subject: string;
  /** The hub it is imported into: the member's own, or the central one when the member role cannot be assumed. */
  readonly hub: AccountContext;
  readonly health: CoverageHealth;
  readonly expected: ExpectedForwarding;
  readonly observedAt: Date;
  /** The stored finding's CreatedAt, kept across updates. */
  readonly createdAt?: Date | undefined;
  /** The canary's last round trip, when the canary is on. */
  readonly canary?: CanaryState | undefined;
  /** False for the central (or single) account, whose events need no forwarding rule; default true. */
  readonly ruleChecked?: boolean | undefined;
}

/** The last canary sent, and the newest that arrived (with its delay). */
export interface CanaryState {
  readonly sentAt?: Date | undefined;
  readonly receivedAt?: Date | undefined;
  readonly delayMs?: number | undefined;
}

function canaryText(canary: CanaryState | undefined): string {
  if (canary === undefined) return '';
  const sent = canary.sentAt ? `last canary sent ${canary.sentAt.toISOString()}` : 'no canary sent yet';
  const received =
    canary.receivedAt && canary.delayMs !== undefined
      ? `; last canary received ${canary.receivedAt.toISOString()}, ${(canary.delayMs / 1000).toFixed(1)} s after it was sent`
      : '';
  return ` Canary: ${sent}${received}.`;
}

function canaryFields(canary: CanaryState | undefined): Record<string, string> {
  if (canary === undefined) return {};
  return {
    ...(canary.sentAt ? { [`${FIELD}/canarySentAt`]: canary.sentAt.toISOString() } : {}),
    ...(canary.receivedAt ? { [`${FIELD}/canaryReceivedAt`]: canary.receivedAt.toISOString() } : {}),
    ...(canary.delayMs !== undefined ? { [`${FIELD}/canaryDelayMs`]: String(canary.delayMs) } : {}),
  };
}

/** The finding's words: the problems seen and how to fix them, or that the account is covered. */
function coverageText(input: CoverageFindingInput) {
  const { subject, health, expected } = input;
  if (health.status === 'covered') {
    const summary =
      input.ruleChecked === false
        ? "this account's events reach KeyWarden"
        : `the forwarding rule ${expected.ruleName} is enabled, matches the detector's events and targets the central bus`;
    return {
      summary,
      title: `KeyWarden sees account ${subject}: its IAM events are forwarded to the central detector`,
      description: `Account ${subject}: ${summary}.${canaryText(input.canary)}`,
      recommendation: 'No action needed.',
    };
  }
  const summary = health.problems.map((problem) => describeProblem(problem, expected)).join('; ');
  return {
    summary,
    title: `KeyWarden is blind to account ${subject}: its IAM events do not reach the central detector`,
    description: `Account ${subject}: ${summary}. Until this is fixed KeyWarden reacts to no access-key change in this account in real time, and nothing else says so.${canaryText(input.canary)}`,
    recommendation: [...new Set(health.problems.map((problem) => ADVICE[problem.code]))].join(' '),
  };
}

/** The account's coverage finding: PASSED while KeyWarden sees it, FAILED (HIGH) while it is blind. */
export function buildCoverageFinding(input: CoverageFindingInput): Finding {
  const { hub, subject, health } = input;
  const blind = health.status === 'blind';
  const text = coverageText(input);
  return buildHealthFinding({
    id: coverageFindingId(subject),
    generatorId: COVERAGE_HEALTH_GENERATOR_ID,
    hub,
    type: COVERAGE_TYPE,
    status: blind ? 'FAILED' : 'PASSED',
    label: blind ? 'HIGH' : 'INFORMATIONAL',
    reasonCode: health.problems[0]?.code ?? 'EVENTS_FORWARDED',
    ...text,
    url: COVERAGE_URL,
    fields: {
      [`${FIELD}/account`]: subject,
      [`${FIELD}/status`]: health.status,
      [`${FIELD}/problems`]: health.problems.map((problem) => problem.code).join(',') || 'none',
      ...canaryFields(input.canary),
    },
    resources: [
      {
        Type: 'AwsAccount',
        Id: `AWS::::Account:${subject}`,
        Partition: hub.partition as 'aws',
        Region: hub.region,
      },
    ],
    observedAt: input.observedAt,
    createdAt: input.createdAt,
  });
}
