/** The notifications a check sends, one per outcome, built from what it decided and did. Pure. */

import type { Evaluation } from './evaluate.ts';
import type { Finding } from './finding.ts';
import { type CompliantOutcome, readRecord } from './record.ts';
import type { ActionTaken } from './remediation.ts';
import { threatRecordOf } from './threat-finding.ts';
import type { AccessKey, AccountContext } from './types.ts';
import { USAGE_SCOPE, type UsageEvidence } from './usage-evidence.ts';

export type Outcome =
  | 'Violation Detected'
  | 'Key Deactivated'
  | 'Violation Resolved'
  | 'Key Minted By Another Principal'
  | 'Deactivation Rolled Back'
  | 'Deactivated Key Reactivated'
  /** Every active key is in use, so none is switched off until the rotation is finished. */
  | 'Keys In Use';

export interface Notification {
  readonly outcome: Outcome;
  readonly detail: Readonly<Record<string, unknown>>;
}

/** A check of a user IAM knows, as its compliance notification needs it. */
export interface ComplianceChange {
  readonly account: AccountContext;
  readonly evaluation: Exclude<Evaluation, { verdict: 'user-gone' }>;
  readonly action: ActionTaken;
  readonly outcome: CompliantOutcome | undefined;
  readonly finding: Finding;
  /** The stored finding before this check. */
  readonly previous: Finding | undefined;
  /** Where and by what the active keys are used, when it was read (a violation). */
  readonly usage?: UsageEvidence | undefined;
}

/** The usage evidence as a notification carries it: per key, with why a summary is cut off or missing. */
export function usageDetail(usage: UsageEvidence): Record<string, unknown> {
  return {
    scope: USAGE_SCOPE,
    start: usage.start.toISOString(),
    end: usage.end.toISOString(),
    keys: usage.keys.map((key) => ({
      accessKeyId: key.accessKeyId,
      status: key.status,
      regions: key.regions,
      calls: key.calls,
      firstSeen: key.firstSeen?.toISOString() ?? null,
      lastSeen: key.lastSeen?.toISOString() ?? null,
      sourceIps: key.sourceIps,
      userAgents: key.userAgents,
      eventSources: key.eventSources,
      gaps: key.gaps,
    })),
  };
}

const ids = (keys: readonly AccessKey[]): string[] => keys.map((key) => key.accessKeyId);

/** The notification for a written compliance finding; undefined when the change is not news. */
export function complianceNotification(change: ComplianceChange): Notification | undefined {
  const { account, evaluation, action, outcome, finding, previous } = change;
  const { user } = evaluation.snapshot;
  const base = {
    accountId: account.accountId,
    userName: user.userName,
    userArn: user.arn,
    findingId: finding.Id,
    activeAccessKeyIds: ids(evaluation.activeKeys),
    ...(change.usage !== undefined ? { usage: usageDetail(change.usage) } : {}),
  };
  if (action.kind === 'deactivated') {
    return {
      outcome: 'Key Deactivated',
      detail: { ...base, deactivatedAccessKeyIds: ids(action.keys), deactivatedAt: action.at.toISOString() },
    };
  }
  if (action.kind === 'rolled-back') {
    return {
      outcome: 'Deactivation Rolled Back',
      detail: { ...base, reactivatedAccessKeyIds: ids(action.keys), restored: action.restored },
    };
  }
  if (outcome?.kind === 'reactivated') {
    // Said once: a finding that already records the re-activation is not news.
    if (readRecord(previous).reactivated !== undefined) return undefined;
    return {
      outcome: 'Deactivated Key Reactivated',
      detail: { ...base, reactivatedAccessKeyIds: ids(outcome.keys), reactivatedBy: outcome.by },
    };
  }
  if (evaluation.verdict === 'violation' && action.kind === 'in-use' && action.scope === 'all') {
    return keysInUseNotification(base, evaluation.keyToKeep.accessKeyId, action, previous);
  }
  if (evaluation.verdict === 'violation') {
    return { outcome: 'Violation Detected', detail: { ...base, action: action.kind } };
  }
  const wasFailing = previous?.Compliance?.Status === 'FAILED';
  if (evaluation.verdict === 'compliant' && wasFailing)
    return { outcome: 'Violation Resolved', detail: base };
  return undefined;
}

/** Every active key is in use: said once, since a stored finding that already says so (a sweep's re-check) is not news. */
function keysInUseNotification(
  base: Record<string, unknown> & { readonly findingId: string | undefined },
  keyToKeep: string,
  action: Extract<ActionTaken, { kind: 'in-use' }>,
  previous: Finding | undefined,
): Notification | undefined {
  const said = previous?.Compliance?.StatusReasons?.some(
    (reason) => reason.ReasonCode === 'BOTH_KEYS_IN_USE',
  );
  if (said === true) return undefined;
  return {
    outcome: 'Keys In Use',
    detail: {
      ...base,
      dryRun: action.dryRun,
      inUseHours: action.hours,
      keysInUse: action.uses.map(({ key }) => ({
        accessKeyId: key.accessKeyId,
        lastUsedDate: key.lastUsed?.date?.toISOString() ?? null,
        lastUsedService: key.lastUsed?.serviceName ?? null,
        lastUsedRegion: key.lastUsed?.region ?? null,
      })),
      keyToKeep,
      firstIdleAt: action.lookAgainAt.toISOString(),
    },
  };
}

/** The notification for the archived finding of a user that was failing and is now deleted. */
export function userGoneNotification(
  account: AccountContext,
  userName: string,
  findingId: string,
): Notification {
  return {
    outcome: 'Violation Resolved',
    detail: { accountId: account.accountId, userName, findingId, reason: 'user deleted' },
  };
}

/** The notification for a raised threat finding. */
export function threatNotification(account: AccountContext, finding: Finding): Notification | undefined {
  const record = threatRecordOf(finding);
  if (record === undefined) return undefined;
  return {
    outcome: 'Key Minted By Another Principal',
    detail: {
      accountId: account.accountId,
      userName: record.userName,
      userArn: record.userArn,
      accessKeyId: record.accessKeyId,
      how: record.how,
      actorArn: record.actorArn,
      actorType: record.actorType,
      actorIssuerArn: record.actorIssuerArn || undefined,
      actorMfa: record.actorMfa,
      sourceIp: record.sourceIp,
      eventId: record.eventId,
      eventTime: record.eventTime,
      activeAccessKeyIds: record.activeKeysAfterCall,
      keyState: finding.ProductFields?.['keywarden/threat/keyState'],
      findingId: finding.Id,
    },
  };
}
