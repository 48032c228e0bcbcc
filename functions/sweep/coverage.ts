/**
 * The coverage check each organization sweep runs for every member: through the member role, is the forwarding
 * rule there, enabled, matching and pointed at the central bus? Imports the member's coverage finding into its own
 * hub, or into the central hub when the member role cannot be assumed (the member's hub is then out of reach).
 */

import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import type { IAMClient } from '@aws-sdk/client-iam';
import { type CanaryStorePort, sendCanary } from '../adapters/canary-store.ts';
import { CLIENT_SETTINGS } from '../adapters/clients.ts';
import { createForwardingRulePort, type ForwardingRulePort } from '../adapters/forwarding-rule.ts';
import type { AccountClients } from '../adapters/member-accounts.ts';
import type { FindingsPort } from '../adapters/securityhub.ts';
import { type CanaryRecord, canaryProblem } from '../core/canary.ts';
import {
  buildCoverageFinding,
  type CanaryState,
  type CoverageHealth,
  type CoverageObservation,
  coverageFindingId,
  type ExpectedForwarding,
  evaluateCoverage,
  withProblems,
} from '../core/coverage.ts';
import type { Finding } from '../core/finding.ts';
import { productArnFor } from '../core/finding.ts';
import type { AccountTarget } from '../core/organization.ts';
import type { Read } from '../core/trail-health.ts';
import type { AccountContext } from '../core/types.ts';
import { FORWARDING_RULE_NAME, iamEventRegionFor, KEY_EVENT_PATTERN } from '../shared/constants.ts';
import { MemberRoleError } from '../shared/errors.ts';

/** The forwarding rule the member stack deploys: the detector's pattern, forwarding to `centralBusArn`. */
export function expectedForwarding(centralBusArn: string): ExpectedForwarding {
  return { ruleName: FORWARDING_RULE_NAME, eventPattern: KEY_EVENT_PATTERN, centralBusArn };
}

/** A member's ports for the check, or the reason the member role could not be assumed. */
export type MemberAccess =
  | {
      readonly ok: true;
      /** Absent: no forwarding rule to check (the central or single account). */
      readonly rules?: ForwardingRulePort | undefined;
      readonly findings: FindingsPort;
      /** The account's IAM, which sends the canary. */
      readonly iam?: IAMClient | undefined;
    }
  | { readonly ok: false; readonly code: string; readonly message: string };

export interface CoverageDeps {
  /** The central account's hub: where an unreachable member is reported. */
  readonly own: AccountContext;
  readonly ownFindings: FindingsPort;
  readonly clock: () => Date;
  /** The canary table, when the canary is on. */
  readonly canary?: CanaryStorePort | undefined;
}

export interface CoverageReport {
  readonly accountId: string;
  readonly health: CoverageHealth;
  readonly finding: Finding;
  /** The account whose hub holds the finding. */
  readonly reportedIn: string;
  /** The read that failed (the forwarding rule could not be read), when one did. */
  readonly error?: unknown;
}

/**
 * The member's ports for the check: its findings port from the sweep's, and its forwarding rule through the same
 * (cached) member session, in the region where IAM's events arrive, where the member stack deploys the rule.
 */
export async function memberAccessOf(
  accountClients: Pick<AccountClients, 'clientsFor'>,
  target: AccountTarget,
  access: { readonly ports: { readonly findings: FindingsPort } } | { readonly error: unknown },
  checkRule = true,
): Promise<MemberAccess> {
  if ('error' in access) {
    const { error } = access;
    const code = error instanceof MemberRoleError ? error.code : codeOf(error);
    return { ok: false, code, message: error instanceof Error ? error.message : String(error) };
  }
  const clients = await accountClients.clientsFor(target);
  if (target.via === 'own' || !checkRule)
    return { ok: true, findings: access.ports.findings, iam: clients.iam };
  const region = iamEventRegionFor(target.account.partition) ?? target.account.region;
  const eventBridge = new EventBridgeClient({
    ...CLIENT_SETTINGS,
    region,
    credentials: clients.eventBridge.config.credentials,
  });
  return {
    ok: true,
    rules: createForwardingRulePort(eventBridge),
    findings: access.ports.findings,
    iam: clients.iam,
  };
}

const codeOf = (error: unknown): string => {
  const named = error as { code?: unknown; name?: unknown };
  return typeof named?.code === 'string'
    ? named.code
    : typeof named?.name === 'string'
      ? named.name
      : 'Error';
};

/** What the sweep sees of one member (reads only): the role's outcome and, through it, the forwarding rule. */
export async function observeCoverage(
  access: MemberAccess,
  ruleName: string,
): Promise<CoverageObservation & { readonly error?: unknown }> {
  if (!access.ok) return { role: access };
  if (access.rules === undefined) return { role: { ok: true, value: true } };
  const rule: Read<Awaited<ReturnType<ForwardingRulePort['observeRule']>>> & { error?: unknown } =
    await access.rules.observeRule(ruleName).then(
      (value) => ({ ok: true as const, value }),
      (error: unknown) => ({ ok: false as const, code: codeOf(error), message: messageOf(error), error }),
    );
  return { role: { ok: true, value: true }, rule, ...(rule.ok ? {} : { error: rule.error }) };
}

const messageOf = (error: unknown): string => (error instanceof Error ? error.message : String(error));

async function createdAtOf(findings: FindingsPort, hub: AccountContext, id: string) {
  const previous = await findings.getFinding(productArnFor(hub), id);
  const createdAt = previous?.CreatedAt ? new Date(previous.CreatedAt) : undefined;
  return { previous, createdAt: createdAt && !Number.isNaN(createdAt.getTime()) ? createdAt : undefined };
}

/**
 * Checks one account and imports its coverage finding; with the canary on, judges the last canary, then sends the
 * next one and records it. With the role assumable, a report of it left in the central hub (from a sweep that could
 * not assume the role) is archived. Throws AwsCallError or FindingImportError.
 */
export async function checkCoverage(
  deps: CoverageDeps,
  member: AccountContext,
  access: MemberAccess,
  expected: ExpectedForwarding,
): Promise<CoverageReport> {
  const observedAt = deps.clock();
  const observation = await observeCoverage(access, expected.ruleName);
  const ruleHealth = evaluateCoverage(observation, expected);
  const record = await deps.canary?.read(member.accountId);
  const lost = deps.canary ? canaryProblem(record, observedAt) : undefined;
  const health = withProblems(ruleHealth, lost ? [lost] : []);
  const id = coverageFindingId(member.accountId);
  const subject = member.accountId;
  const [hub, findings] = access.ok ? [member, access.findings] : [deps.own, deps.ownFindings];
  const { createdAt } = await createdAtOf(findings, hub, id);
  const finding = buildCoverageFinding({
    ...{ subject, hub, health, expected, observedAt, createdAt },
    ruleChecked: !access.ok || access.rules !== undefined,
    canary: deps.canary ? canaryStateOf(record) : undefined,
  });
  await findings.importFindings([finding]);
  if (access.ok) {
    await archiveCentralReport(deps, subject, expected, observedAt);
    if (deps.canary && access.iam) {
      await sendCanary(access.iam, observedAt);
      await deps.canary.recordSent(
        subject,
        observedAt,
        ruleHealth.problems,
        new Date(finding.CreatedAt ?? observedAt),
      );
    }
  }
  return {
    accountId: member.accountId,
    health,
    finding,
    reportedIn: hub.accountId,
    ...(observation.error !== undefined ? { error: observation.error } : {}),
  };
}

/** The canary as the finding shows it: the last sent, and the newest received with its delay. */
export function canaryStateOf(record: CanaryRecord | undefined): CanaryState {
  return { sentAt: record?.sentAt, receivedAt: record?.receivedAt, delayMs: record?.delayMs };
}

/** The member role works again: its report in the central hub is archived; the member's own hub takes over. */
async function archiveCentralReport(
  deps: CoverageDeps,
  subject: string,
  expected: ExpectedForwarding,
  observedAt: Date,
): Promise<void> {
  if (subject === deps.own.accountId) return;
  const central = await createdAtOf(deps.ownFindings, deps.own, coverageFindingId(subject));
  if (central.previous === undefined || central.previous.RecordState === 'ARCHIVED') return;
  const resolved = buildCoverageFinding({
    subject,
    hub: deps.own,
    health: { status: 'covered', problems: [] },
    expected,
    observedAt,
    createdAt: central.createdAt,
  });
  await deps.ownFindings.importFindings([{ ...resolved, RecordState: 'ARCHIVED' }]);
}
