/** Builds the ASFF finding for one user's CIS 1.13 state. Pure: the caller passes the time. */

import { describeOrigin, type KeyOrigin, type KeyOrigins, NO_KEY_ORIGINS } from './attribution.ts';
import type { Evaluation } from './evaluate.ts';
import { type CompliantOutcome, FIELD, RECORD_FIELDS, type ResolvedViolation } from './record.ts';
import type { ActionTaken, InUse } from './remediation.ts';
import type { AccessKey, AccountContext, EventTrigger, Finding, Trigger, UserSnapshot } from './types.ts';
import {
  describeUsageLine,
  describeUsageSources,
  USAGE_SCOPE,
  type UsageEvidence,
  usageOf,
} from './usage-evidence.ts';

export type { Finding } from './types.ts';

export const GENERATOR_ID = 'keywarden/cis-aws-foundations-benchmark/v3.0.0/1.13';
export const FINDING_TYPE =
  'Software and Configuration Checks/Industry and Regulatory Standards/CIS AWS Foundations Benchmark';
export const RELATED_REQUIREMENTS = [
  'CIS AWS Foundations Benchmark v3.0.0/1.13',
  'CIS AWS Foundations Benchmark v5.0.0/1.12',
  'CIS AWS Foundations Benchmark v6.0.0/2.12',
];
export const REMEDIATION_URL =
  'https://docs.aws.amazon.com/IAM/latest/UserGuide/id-credentials-access-keys-update.html';
/** ProductFields key holding the user name exactly as IAM spells it. */
export const USER_NAME_FIELD = `${FIELD}/userName`;

/** One finding per user: names are unique case-insensitively in IAM, so the Id is too. */
export function findingIdFor(accountId: string, userName: string): string {
  return `keywarden/cis-1.13/${accountId}/${userName.toLowerCase()}`;
}

/**
 * One threat finding (MITRE ATT&CK T1098.001) per key: access key ids are unique across AWS, the account keeps the Id
 * readable. Here beside the compliance finding's Id, which names it.
 */
export function threatFindingIdFor(accountId: string, accessKeyId: string): string {
  return `keywarden/t1098.001/${accountId}/${accessKeyId}`;
}

export function productArnFor(account: AccountContext): string {
  return `arn:${account.partition}:securityhub:${account.region}:${account.accountId}:product/${account.accountId}/default`;
}

const iso = (date: Date): string => date.toISOString();
const day = (date: Date): string => date.toISOString().slice(0, 10);

function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

/** Who made a key usable, in a few words for the description (the ProductFields hold the whole line). */
function originPhrase(origin: KeyOrigin): string {
  const who = origin.actorArn || 'an unknown caller';
  switch (origin.minter) {
    case 'self':
      return `${origin.how} by the user itself`;
    case 'trusted':
      return `${origin.how} by ${who}, a trusted key issuer`;
    case 'another-principal':
      return `${origin.how} by ${who}, another principal`;
  }
}

function describeKey(key: AccessKey, origins: KeyOrigins): string {
  const used = key.lastUsed?.date
    ? `last used ${iso(key.lastUsed.date)} by ${key.lastUsed.serviceName ?? 'unknown service'} in ${key.lastUsed.region ?? 'unknown region'}`
    : 'never used';
  const origin = origins.get(key.accessKeyId);
  return `${key.accessKeyId} (created ${day(key.createDate)}, ${used}${origin ? `; ${originPhrase(origin)}` : ''})`;
}

/** A key's last use, for the in-use reason: the date, service and region GetAccessKeyLastUsed gave. */
function lastUseOf(key: AccessKey): string {
  const used = key.lastUsed;
  return `${key.accessKeyId} last used ${used?.date ? iso(used.date) : 'never'} by ${used?.serviceName ?? 'unknown service'} in ${used?.region ?? 'unknown region'}`;
}

/** A key's last use, with where and by what CloudTrail shows it used, when that was read. */
function useOf(key: AccessKey, usage: UsageEvidence | undefined): string {
  const read = usageOf(usage, key.accessKeyId);
  if (read === undefined) return lastUseOf(key);
  const sources = read.status === 'unavailable' ? '' : `; ${describeUsageSources(read)}`;
  return `${lastUseOf(key)} (CloudTrail: ${describeUsageLine(read)}${sources})`;
}

/** The status reason of a violation KeyWarden holds back on because keys are in use. */
function inUseReason(
  name: string,
  keep: string,
  action: InUse,
  usage: UsageEvidence | undefined,
): { ReasonCode: string; Description: string } {
  const uses = action.uses.map((use) => useOf(use.key, usage)).join('; ');
  const window = `IN_USE_HOURS=${action.hours}`;
  const would = action.dryRun ? 'would not switch' : 'does not switch';
  if (action.scope === 'all') {
    return {
      ReasonCode: 'BOTH_KEYS_IN_USE',
      Description: `every active key of ${name} is in use (${uses}; ${window}), so KeyWarden ${would} any off. Finish the rotation: move the application to one key (${keep}); the other then idles, and the first check after it has been idle for ${action.hours} hours switches it off (earliest ${iso(action.lookAgainAt)}).`,
    };
  }
  const ids = action.uses.map((use) => use.key.accessKeyId).join(', ');
  return {
    ReasonCode: 'KEY_IN_USE',
    Description: `${ids} is in use (${uses}; ${window}), so KeyWarden ${would} it off now; it looks again at ${iso(action.lookAgainAt)}, when ${ids} will have been idle for ${action.hours} hours if not used again, and the first check after that switches it off.`,
  };
}

/** What to do about an open violation: finish the rotation when keys are in use, else the usual advice. */
function violationRecommendation(
  keep: string,
  others: readonly string[],
  commands: string,
  action: OpenAction,
): string {
  if (action.kind === 'in-use' && action.scope === 'all')
    return `Every active key is in use. Finish the rotation: move the application to ${keep}, then ${others.join(', ')} idles and KeyWarden switches it off after ${action.hours} idle hours (IN_USE_HOURS), or run: ${commands}`;
  if (action.kind === 'in-use')
    return `${others.join(', ')} is in use. Finish the rotation: move the application to ${keep}; once ${others.join(', ')} has been idle for ${action.hours} hours (IN_USE_HOURS) KeyWarden switches it off, or run: ${commands}`;
  return `${ADVICE} Keep ${keep}, move applications off ${others.join(', ')}, then run: ${commands}`;
}

function describeEvent(trigger: EventTrigger): string {
  const renamed = trigger.renamedFrom ? ` (rename of IAM user ${trigger.renamedFrom})` : '';
  return `${trigger.eventName}${trigger.accessKeyId ? ` of ${trigger.accessKeyId}` : ''}${renamed} by ${trigger.actorArn || 'unknown'} (${trigger.actorType}) from ${trigger.sourceIp || 'unknown IP'} at ${trigger.eventTime || 'unknown time'}, event ${trigger.eventId || 'unknown'}.`;
}

function describeTrigger(trigger: Trigger, at: Date): string {
  if (trigger.kind === 'sweep') {
    const found = `Found by the ${trigger.origin === 'cli' ? 'CLI' : 'scheduled'} sweep.`;
    return trigger.lastEvent === undefined
      ? found
      : `Confirmed by the ${trigger.origin === 'cli' ? 'CLI' : 'scheduled'} sweep at ${iso(at)}. Last event: ${describeEvent(trigger.lastEvent)}`;
  }
  return `Trigger: ${describeEvent(trigger)}`;
}

export function updateCommand(userName: string, accessKeyId: string, status: 'Active' | 'Inactive'): string {
  return `aws iam update-access-key --user-name ${userName} --access-key-id ${accessKeyId} --status ${status}`;
}

function userResource(account: AccountContext, snapshot: UserSnapshot) {
  const { user } = snapshot;
  return {
    Type: 'AwsIamUser',
    Id: user.arn,
    Partition: account.partition as 'aws',
    Region: account.region,
    Details: {
      AwsIamUser: {
        UserName: user.userName,
        UserId: user.userId,
        Path: user.path,
        CreateDate: iso(user.createDate),
      },
    },
  };
}

function keyResource(account: AccountContext, snapshot: UserSnapshot, key: AccessKey) {
  return {
    Type: 'AwsIamAccessKey',
    Id: `AWS::IAM::AccessKey:${key.accessKeyId}`,
    Partition: account.partition as 'aws',
    Region: account.region,
    Details: {
      AwsIamAccessKey: {
        AccessKeyId: key.accessKeyId,
        // ASFF knows Active and Inactive only; an Expired key is not usable either.
        Status: key.status === 'Active' ? ('Active' as const) : ('Inactive' as const),
        CreatedAt: iso(key.createDate),
        PrincipalId: snapshot.user.userId,
        PrincipalName: snapshot.user.userName,
        PrincipalType: 'IAMUser',
        AccountId: account.accountId,
      },
    },
  };
}

/** Where and by what a key is used, as CloudTrail showed it (two fields per key, within ASFF's 50 in all). */
function usageFields(
  prefix: string,
  key: AccessKey,
  usage: UsageEvidence | undefined,
): Record<string, string> {
  // Read for the keys active at the check; a key switched off since keeps what showed it used.
  const read = usageOf(usage, key.accessKeyId);
  if (read === undefined) return {};
  return {
    [`${prefix}/usage`]: describeUsageLine(read),
    ...(read.status === 'unavailable' ? {} : { [`${prefix}/usageSources`]: describeUsageSources(read) }),
  };
}

/** What the usage evidence covers, once per finding. */
function usageScopeFields(usage: UsageEvidence | undefined): Record<string, string> {
  if (usage === undefined) return {};
  return { [`${FIELD}/usageEvidence`]: `${USAGE_SCOPE}; ${iso(usage.start)} to ${iso(usage.end)}` };
}

function keyFields(
  keys: readonly AccessKey[],
  origins: KeyOrigins,
  usage?: UsageEvidence | undefined,
): Record<string, string> {
  const fields: Record<string, string> = {};
  keys.forEach((key, index) => {
    const prefix = `${FIELD}/key${index + 1}`;
    fields[`${prefix}/accessKeyId`] = key.accessKeyId;
    fields[`${prefix}/status`] = key.status;
    fields[`${prefix}/createDate`] = iso(key.createDate);
    // Known only when KeyWarden saw the event that made the key usable (this one, or an open threat finding).
    const origin = origins.get(key.accessKeyId);
    if (origin !== undefined) {
      fields[`${prefix}/madeUsableBy`] = describeOrigin(origin);
      fields[`${prefix}/madeUsableByKind`] = origin.minter;
    }
    if (key.lastUsed !== undefined) {
      fields[`${prefix}/lastUsedDate`] = key.lastUsed.date ? iso(key.lastUsed.date) : 'never';
      fields[`${prefix}/lastUsedService`] = key.lastUsed.serviceName ?? 'N/A';
      fields[`${prefix}/lastUsedRegion`] = key.lastUsed.region ?? 'N/A';
    }
    Object.assign(fields, usageFields(prefix, key, usage));
  });
  return fields;
}

function eventFields(trigger: EventTrigger): Record<string, string> {
  const fields: Record<string, string> = {
    [`${FIELD}/trigger/eventName`]: trigger.eventName,
    [`${FIELD}/trigger/eventId`]: trigger.eventId,
    [`${FIELD}/trigger/eventTime`]: trigger.eventTime,
    [`${FIELD}/trigger/actorArn`]: trigger.actorArn,
    [`${FIELD}/trigger/actorType`]: trigger.actorType,
    [`${FIELD}/trigger/actorIssuerArn`]: trigger.actorIssuerArn,
    [`${FIELD}/trigger/actorMfa`]: trigger.actorMfa === undefined ? '' : String(trigger.actorMfa),
    [`${FIELD}/trigger/sourceIp`]: trigger.sourceIp,
    [`${FIELD}/trigger/userAgent`]: trigger.userAgent,
  };
  if (trigger.accessKeyId) fields[`${FIELD}/trigger/accessKeyId`] = trigger.accessKeyId;
  if (trigger.renamedFrom) fields[`${FIELD}/trigger/renamedFrom`] = trigger.renamedFrom;
  return fields;
}

function triggerFields(trigger: Trigger, at: Date): Record<string, string> {
  const fields: Record<string, string> =
    trigger.kind === 'sweep'
      ? {
          [`${FIELD}/trigger`]: `sweep:${trigger.origin}`,
          // A sweep re-import keeps the last real trigger: who did what, from where, is the forensics.
          ...(trigger.lastEvent
            ? { ...eventFields(trigger.lastEvent), [`${FIELD}/confirmedBySweepAt`]: iso(at) }
            : {}),
        }
      : { [`${FIELD}/trigger`]: 'event', ...eventFields(trigger) };
  // ProductFields values must not be empty strings.
  return Object.fromEntries(Object.entries(fields).filter(([, value]) => value !== ''));
}

type Status = 'PASSED' | 'FAILED' | 'WARNING';
type Label = 'INFORMATIONAL' | 'LOW' | 'MEDIUM' | 'HIGH';

interface Shape {
  status: Status;
  label: Label;
  title: string;
  description: string;
  reasonCode: string;
  reason: string;
  recommendation: string;
  fields: Record<string, string>;
  /** Keys as they are after the action (deactivated ones shown inactive). */
  keys: readonly AccessKey[];
  createdAt: Date;
  /** A second status reason, listed first: why an exemption tag was refused. */
  extraReason?: { ReasonCode: string; Description: string };
  /** Why nothing was switched off although the mode deactivates: keys in use; listed before the main reason. */
  inUseReason?: { ReasonCode: string; Description: string };
}

/** How a refused exemption shows in the finding. */
const REFUSALS = {
  'not-approved': { code: 'EXEMPTION_NOT_APPROVED', label: 'HIGH' },
  'not-proven': { code: 'EXEMPTION_NOT_PROVEN', label: 'HIGH' },
  invalid: { code: 'EXEMPTION_INVALID', label: undefined },
} as const;

export interface FindingInput {
  readonly account: AccountContext;
  readonly evaluation: Exclude<Evaluation, { verdict: 'user-gone' }>;
  readonly action: ActionTaken;
  readonly trigger: Trigger;
  /** When IAM showed the state the finding reports (the read it is built from), not when it was built. */
  readonly updatedAt: Date;
  /** For a compliant user: what KeyWarden's stored record means now (default: nothing recorded). */
  readonly outcome?: CompliantOutcome | undefined;
  /** Who made which key usable, as far as KeyWarden saw it (default: nothing known). */
  readonly origins?: KeyOrigins | undefined;
  /** The violation the stored finding recorded, which a compliant user's finding resolves (default: none). */
  readonly resolves?: ResolvedViolation | undefined;
  /** Where and by what the active keys are used, from CloudTrail (read for a violation; default: not read). */
  readonly usage?: UsageEvidence | undefined;
}

/** The detection and resolution times a resolving finding records (see resolvedViolationOf). */
function resolutionFields(detectedAt: string, resolvedAt: string): Record<string, string> {
  return {
    [RECORD_FIELDS.violationDetectedAt]: detectedAt,
    [RECORD_FIELDS.violationResolvedAt]: resolvedAt,
  };
}

/** Who re-activated a key KeyWarden had switched off, as a note: another principal's call is the threat finding's. */
function reactivationNote(
  account: AccountContext,
  outcome: Extract<CompliantOutcome, { kind: 'reactivated' }>,
): string {
  switch (outcome.byKind) {
    case 'self':
      return 'Note: the user re-activated its own key.';
    case 'trusted':
      return 'Note: a trusted key issuer (TRUSTED_KEY_ISSUERS) re-activated it.';
    case 'another-principal':
      return `Note: another principal re-activated it; its threat finding (MITRE ATT&CK T1098.001) is ${outcome.keys.map((key) => threatFindingIdFor(account.accountId, key.accessKeyId)).join(', ')}.`;
    case 'unknown':
      return "Note: KeyWarden did not see who re-activated it; the key's UpdateAccessKey events in CloudTrail name the caller.";
  }
}

const ADVICE =
  'The benchmark keeps one key that your applications use and that is under 90 days old, and deactivates the other.';

function deactivatedShape(
  input: FindingInput,
  ids: readonly string[],
  at: Date,
  keep: string | undefined,
  keepReason: string | undefined,
  keysAfter: readonly AccessKey[],
  how: string,
  detectedAt: string,
): Shape {
  const { user } = input.evaluation.snapshot;
  const name = user.userName;
  const when = iso(at);
  const reactivate = ids.map((id) => updateCommand(name, id, 'Active')).join(' && ');
  const kept = keep ? ` and kept ${keep}${keepReason ? ` because ${keepReason}` : ''}` : '';
  return {
    status: 'PASSED',
    label: 'INFORMATIONAL',
    title: `KeyWarden deactivated access key ${ids.join(', ')} of IAM user ${name} (CIS 1.13)`,
    description: `IAM user ${name} (${user.arn}) ${how} KeyWarden deactivated ${ids.join(', ')} at ${when}${kept}; a read of IAM after the write confirms it. To re-activate: ${reactivate}, or run keywarden restore ${name}. ${describeTrigger(input.trigger, input.updatedAt)}`,
    reasonCode: 'SURPLUS_KEY_DEACTIVATED',
    reason: `deactivated ${ids.join(', ')} at ${when}`,
    recommendation: `If an application needed ${ids.join(', ')}, move it to ${keep ?? 'the active key'}, or re-activate with: ${reactivate}`,
    fields: {
      ...(keep ? { [`${FIELD}/keyToKeep`]: keep } : {}),
      ...(keepReason ? { [RECORD_FIELDS.keyToKeepReason]: keepReason } : {}),
      [RECORD_FIELDS.deactivatedKeys]: ids.join(','),
      [RECORD_FIELDS.deactivatedAt]: when,
      [`${FIELD}/reactivateCommand`]: reactivate,
      ...resolutionFields(detectedAt, input.resolves?.resolvedAt ?? when),
    },
    keys: keysAfter,
    createdAt: input.updatedAt,
  };
}

/** What every shape of a user's finding says the same way. */
interface ShapeContext {
  readonly name: string;
  readonly active: readonly AccessKey[];
  /** The trigger's sentence, for the end of the description. */
  readonly trigger: string;
  readonly describe: (key: AccessKey) => string;
  /** When the violation began: the newest active key's creation, never after the read. */
  readonly violationStart: () => Date;
}

function shapeContext(input: FindingInput): ShapeContext {
  const { evaluation, updatedAt } = input;
  const active = evaluation.activeKeys;
  return {
    name: evaluation.snapshot.user.userName,
    active,
    trigger: describeTrigger(input.trigger, updatedAt),
    describe: (key) => describeKey(key, input.origins ?? NO_KEY_ORIGINS),
    violationStart: () => {
      const newest = active[active.length - 1]?.createDate ?? updatedAt;
      return newest.getTime() > updatedAt.getTime() ? updatedAt : newest;
    },
  };
}

function shape(input: FindingInput): Shape {
  const { evaluation } = input;
  const context = shapeContext(input);
  switch (evaluation.verdict) {
    case 'compliant':
      return compliantShape(input, evaluation, context);
    case 'exempt':
      return exemptShape(input, evaluation, context);
    case 'violation':
      return violationShape(input, evaluation, context);
  }
}

type VerdictOf<V extends FindingInput['evaluation']['verdict']> = Extract<
  FindingInput['evaluation'],
  { verdict: V }
>;

function compliantShape(
  input: FindingInput,
  evaluation: VerdictOf<'compliant'>,
  context: ShapeContext,
): Shape {
  const { updatedAt } = input;
  const { name, active } = context;
  const { user } = evaluation.snapshot;
  const outcome = input.outcome ?? { kind: 'plain' };
  if (outcome.kind === 'deactivated') {
    const ids = outcome.keys.map((key) => key.accessKeyId);
    return deactivatedShape(
      input,
      ids,
      outcome.at,
      active[0]?.accessKeyId,
      outcome.keepReason,
      evaluation.snapshot.keys,
      outcome.recovered
        ? 'has one active access key, as KeyWarden set out to leave it (its outcome is recorded now):'
        : `has ${active.length} active access key(s).`,
      input.resolves?.detectedAt ?? iso(outcome.at),
    );
  }
  if (outcome.kind === 'reactivated') return reactivatedShape(input, evaluation, context, outcome);
  return {
    status: 'PASSED',
    label: 'INFORMATIONAL',
    title: `IAM user ${name} has ${active.length === 0 ? 'no active access key' : 'one active access key'}`,
    description: `IAM user ${name} (${user.arn}) has ${active.length} active access key(s), within CIS 1.13's limit of one. ${context.trigger}`,
    reasonCode: 'ONE_OR_NO_ACTIVE_KEY',
    reason: `${active.length} active access key(s)`,
    recommendation: `No action needed. Keep at most one active access key per IAM user. ${ADVICE}`,
    fields: input.resolves
      ? resolutionFields(input.resolves.detectedAt, input.resolves.resolvedAt ?? iso(updatedAt))
      : {},
    keys: evaluation.snapshot.keys,
    createdAt: updatedAt,
  };
}

function reactivatedShape(
  input: FindingInput,
  evaluation: VerdictOf<'compliant'>,
  context: ShapeContext,
  outcome: Extract<CompliantOutcome, { kind: 'reactivated' }>,
): Shape {
  const { name, active, describe } = context;
  const { user } = evaluation.snapshot;
  const ids = outcome.keys.map((key) => key.accessKeyId);
  const off = ids.map((id) => updateCommand(name, id, 'Inactive')).join(' && ');
  return {
    // CIS 1.13 holds: the finding follows compliance; the re-activation is history, kept in the record.
    status: 'PASSED',
    label: 'INFORMATIONAL',
    title: `IAM user ${name} has one active access key: ${ids.join(', ')}, which KeyWarden had deactivated, is active again`,
    description: `IAM user ${name} (${user.arn}) has ${active.length} active access key(s), within CIS 1.13's limit of one: ${active.map(describe).join('; ')}. KeyWarden deactivated ${ids.join(', ')}${outcome.deactivatedAt ? ` at ${outcome.deactivatedAt}` : ''}; ${outcome.by} re-activated it${outcome.at ? ` at ${outcome.at}` : ''}. ${reactivationNote(input.account, outcome)} ${context.trigger}`,
    reasonCode: 'DEACTIVATED_KEY_REACTIVATED',
    reason: `${active.length} active access key(s); ${ids.join(', ')} re-activated by ${outcome.by}`,
    recommendation: `No action needed for CIS 1.13. If the re-activation was not intended, run: ${off}, and review who may call iam:UpdateAccessKey.`,
    fields: {
      [RECORD_FIELDS.reactivatedKeys]: ids.join(','),
      [RECORD_FIELDS.reactivatedBy]: outcome.by,
      [RECORD_FIELDS.reactivatedByKind]: outcome.byKind,
      ...(outcome.at ? { [RECORD_FIELDS.reactivatedAt]: outcome.at } : {}),
      ...(outcome.deactivatedAt ? { [RECORD_FIELDS.deactivatedAt]: outcome.deactivatedAt } : {}),
    },
    keys: evaluation.snapshot.keys,
    createdAt: input.updatedAt,
  };
}

/** Who set the exemption: the approver CloudTrail proves, else the TagUser event's caller, else unknown. */
function exemptionSetBy(input: FindingInput, approval: VerdictOf<'exempt'>['approval']): string | undefined {
  if (approval) {
    return `${approval.setting.setterArn || 'unknown'} (${approval.setting.setterType || 'Unknown'}) at ${iso(approval.setting.setAt)}`;
  }
  return input.trigger.kind === 'event' && input.trigger.eventName === 'TagUser'
    ? `${input.trigger.actorArn || 'unknown'} (${input.trigger.actorType}) at ${input.trigger.eventTime || 'unknown time'}`
    : undefined;
}

function exemptShape(input: FindingInput, evaluation: VerdictOf<'exempt'>, context: ShapeContext): Shape {
  const { name, active, describe } = context;
  const { user } = evaluation.snapshot;
  const { approval } = evaluation;
  const setBy = exemptionSetBy(input, approval);
  const approvedLine = approval
    ? ` The exemption was set by ${setBy}, an exemption approver (${approval.pattern}), proven by CloudTrail event ${approval.setting.eventId || 'unknown'}.`
    : setBy
      ? ` The exemption was set by ${setBy}.`
      : '';
  return {
    status: 'WARNING',
    label: 'LOW',
    title: `IAM user ${name} has ${active.length} active access keys (exempt from CIS 1.13 enforcement${evaluation.until ? ` until ${iso(evaluation.until)}` : ''})`,
    description: `IAM user ${name} (${user.arn}) has ${active.length} active access keys: ${active.map(describe).join('; ')}. The ${evaluation.reason}.${approvedLine} ${context.trigger}`,
    reasonCode: 'EXEMPT_BY_TAG',
    reason: evaluation.reason,
    recommendation: `Review the exemption regularly. ${ADVICE} Remove the tag to let KeyWarden enforce the control.`,
    fields: {
      [`${FIELD}/exemption`]: evaluation.reason,
      ...(evaluation.until ? { [`${FIELD}/exemptUntil`]: iso(evaluation.until) } : {}),
      ...(setBy ? { [`${FIELD}/exemptionSetBy`]: setBy } : {}),
      ...(approval
        ? {
            [RECORD_FIELDS.exemptionApprovedBy]: approval.setting.setterArn,
            [RECORD_FIELDS.exemptionApproverPattern]: approval.pattern,
            [RECORD_FIELDS.exemptionSetAt]: iso(approval.setting.setAt),
            [RECORD_FIELDS.exemptionValue]: approval.setting.value,
            [RECORD_FIELDS.exemptionEventId]: approval.setting.eventId,
          }
        : {}),
    },
    keys: evaluation.snapshot.keys,
    createdAt: context.violationStart(),
  };
}

function violationShape(
  input: FindingInput,
  evaluation: VerdictOf<'violation'>,
  context: ShapeContext,
): Shape {
  const { action } = input;
  const { name, active, describe } = context;
  const { user } = evaluation.snapshot;
  const keep = evaluation.keyToKeep.accessKeyId;
  const others = evaluation.keysToDeactivate.map((key) => key.accessKeyId);
  const keysLine = `${active.length} active access keys: ${active.map(describe).join('; ')}.`;
  if (action.kind === 'deactivated') {
    return deactivatedShape(
      input,
      action.keys.map((key) => key.accessKeyId),
      action.at,
      keep,
      evaluation.keepReason,
      action.keysAfter,
      `had ${keysLine}`,
      input.resolves?.detectedAt ?? iso(context.violationStart()),
    );
  }
  const refusal = evaluation.exemptionRefused ? REFUSALS[evaluation.exemptionRefused.kind] : undefined;
  const keepLine = `Keep ${keep} because ${evaluation.keepReason}; check it is the one in use and under 90 days old before switching off ${others.join(', ')}.`;
  const deactivateCommands = others.map((id) => updateCommand(name, id, 'Inactive')).join(' && ');
  const keys =
    action.kind === 'rolled-back' || action.kind === 'unconfirmed'
      ? action.keysAfter
      : evaluation.snapshot.keys;
  return {
    // An exemption someone set who may not grant one (or that nothing proves) is an attempt to be looked at.
    label: refusal?.label ?? 'MEDIUM',
    reasonCode: action.kind === 'rolled-back' ? 'DEACTIVATION_ROLLED_BACK' : 'MORE_THAN_ONE_ACTIVE_KEY',
    ...(refusal && evaluation.exemptionIgnored
      ? { extraReason: { ReasonCode: refusal.code, Description: evaluation.exemptionIgnored } }
      : {}),
    ...(action.kind === 'in-use' ? { inUseReason: inUseReason(name, keep, action, input.usage) } : {}),
    createdAt: context.violationStart(),
    status: 'FAILED',
    title: `IAM user ${name} has ${active.length} active access keys (CIS 1.13 allows one)`,
    description: `IAM user ${name} (${user.arn}) has ${keysLine} ${keepLine} ${violationActionLine(name, keep, action)}${evaluation.exemptionIgnored ? ` Not exempt: ${evaluation.exemptionIgnored}.` : ''} ${context.trigger}`,
    reason: `${active.length} active access keys`,
    recommendation: violationRecommendation(keep, others, deactivateCommands, action),
    fields: violationFields(evaluation, action, refusal?.code),
    keys,
  };
}

type OpenAction = Exclude<ActionTaken, { kind: 'deactivated' }>;

const keyIds = (keys: readonly AccessKey[]): string => keys.map((key) => key.accessKeyId).join(', ');

/** What KeyWarden did, or did not do, about an open violation, in one sentence. */
function violationActionLine(name: string, keep: string, action: OpenAction): string {
  switch (action.kind) {
    case 'dry-run':
      return `Dry run: KeyWarden would deactivate ${keyIds(action.keys)} (${updateCommand(name, action.keys[0]?.accessKeyId ?? '', 'Inactive')}).`;
    case 'postponed':
      return `Within the rotation grace period: KeyWarden deactivates the surplus key after ${iso(action.until)} if both are still active.`;
    case 'in-use':
      return action.scope === 'all'
        ? `${action.dryRun ? 'Dry run: KeyWarden would switch off nothing' : 'KeyWarden switched off nothing'}: every active key was used within IN_USE_HOURS (${action.hours}); move the application to one key and the other is switched off once idle.`
        : `${action.dryRun ? 'Dry run: KeyWarden would not switch off' : 'KeyWarden did not switch off'} ${action.uses.map((use) => use.key.accessKeyId).join(', ')}: used within IN_USE_HOURS (${action.hours}); it looks again at ${iso(action.lookAgainAt)}.`;
    case 'deactivating':
      return `KeyWarden is deactivating ${keyIds(action.keys)} (started ${iso(action.since)}). If this finding still says so, the outcome was not recorded: the next event for this user or the next sweep records it from IAM.`;
    case 'rolled-back':
      return action.restored
        ? `KeyWarden deactivated ${keyIds(action.keys)}, then found the user with no active key (someone switched off or deleted ${keep} at the same time), so it re-activated ${keyIds(action.keys)} at ${iso(action.at)}.`
        : `KeyWarden deactivated ${keyIds(action.keys)}, then found the user with no active key and could not confirm re-activating it: run ${action.keys.map((key) => updateCommand(name, key.accessKeyId, 'Active')).join(' && ')}.`;
    case 'unconfirmed':
      return `KeyWarden asked IAM to deactivate ${keyIds(action.keys)}, but IAM still lists it active; this finding stays open until IAM shows it inactive.`;
    case 'aborted':
      return `KeyWarden did not deactivate: ${action.reason}.`;
    case 'none':
      return 'Detect-only mode: KeyWarden changed nothing.';
  }
}

/** The product fields of an open violation: the key to keep, the ones to switch off, and the action's record. */
function violationFields(
  evaluation: VerdictOf<'violation'>,
  action: OpenAction,
  refusalCode: string | undefined,
): Record<string, string> {
  const others = evaluation.keysToDeactivate.map((key) => key.accessKeyId);
  const fields: Record<string, string> = {
    [`${FIELD}/keyToKeep`]: evaluation.keyToKeep.accessKeyId,
    [RECORD_FIELDS.keyToKeepReason]: evaluation.keepReason,
    [`${FIELD}/keysToDeactivate`]: others.join(','),
    ...(evaluation.exemptionIgnored ? { [`${FIELD}/exemptionIgnored`]: evaluation.exemptionIgnored } : {}),
    ...(refusalCode ? { [`${FIELD}/exemptionRefused`]: refusalCode } : {}),
    ...(evaluation.exemptionRefused?.kind === 'not-approved'
      ? { [`${FIELD}/exemptionSetBy`]: evaluation.exemptionRefused.setting.setterArn || 'unknown' }
      : {}),
    [`${FIELD}/action`]: action.kind,
  };
  if (action.kind === 'dry-run') fields[`${FIELD}/wouldDeactivate`] = others.join(',');
  if (action.kind === 'postponed') fields[`${FIELD}/graceUntil`] = iso(action.until);
  if (action.kind === 'in-use') {
    fields[`${FIELD}/keysInUse`] = action.uses.map((use) => use.key.accessKeyId).join(',');
    fields[`${FIELD}/lookAgainAt`] = iso(action.lookAgainAt);
  }
  if (action.kind === 'deactivating') {
    fields[RECORD_FIELDS.pendingDeactivation] = keyIds(action.keys).split(', ').join(',');
    fields[RECORD_FIELDS.pendingSince] = iso(action.since);
  }
  if (action.kind === 'rolled-back')
    fields[`${FIELD}/rolledBackKeys`] = keyIds(action.keys).split(', ').join(',');
  return fields;
}

/** The finding for a user IAM still knows. */
export function buildFinding(input: FindingInput): Finding {
  const { account, evaluation, trigger, updatedAt } = input;
  const s = shape(input);
  const types = [FINDING_TYPE];
  const severity = { Label: s.label, Original: s.label };
  return {
    SchemaVersion: '2018-10-08',
    Id: findingIdFor(account.accountId, evaluation.snapshot.user.userName),
    ProductArn: productArnFor(account),
    ProductName: 'KeyWarden',
    CompanyName: 'KeyWarden',
    GeneratorId: GENERATOR_ID,
    AwsAccountId: account.accountId,
    Region: account.region,
    Types: types,
    CreatedAt: iso(s.createdAt),
    UpdatedAt: iso(updatedAt),
    LastObservedAt: iso(updatedAt),
    Severity: severity,
    // On updates Security Hub takes severity and types from FindingProviderFields.
    FindingProviderFields: { Severity: severity, Types: types },
    Title: truncate(s.title, 256),
    Description: truncate(s.description, 1024),
    Remediation: { Recommendation: { Text: truncate(s.recommendation, 512), Url: REMEDIATION_URL } },
    ProductFields: Object.fromEntries(
      Object.entries({
        [`${FIELD}/verdict`]: evaluation.verdict,
        [USER_NAME_FIELD]: evaluation.snapshot.user.userName,
        // After a deactivation the finding is PASSED: the count is the one left, like the key resources show.
        [`${FIELD}/activeKeyCount`]: String(s.keys.filter((key) => key.status === 'Active').length),
        ...s.fields,
        ...keyFields(s.keys, input.origins ?? NO_KEY_ORIGINS, input.usage),
        ...usageScopeFields(input.usage),
        ...triggerFields(trigger, updatedAt),
      }).map(([key, value]) => [key, truncate(value, 2048)]),
    ),
    Resources: [
      userResource(account, evaluation.snapshot),
      ...s.keys.map((key) => keyResource(account, evaluation.snapshot, key)),
    ],
    Compliance: {
      Status: s.status,
      RelatedRequirements: RELATED_REQUIREMENTS,
      StatusReasons: [
        ...(s.extraReason
          ? [{ ReasonCode: s.extraReason.ReasonCode, Description: truncate(s.extraReason.Description, 2048) }]
          : []),
        ...(s.inUseReason
          ? [{ ReasonCode: s.inUseReason.ReasonCode, Description: truncate(s.inUseReason.Description, 2048) }]
          : []),
        { ReasonCode: s.reasonCode, Description: truncate(s.reason, 2048) },
      ],
    },
    RecordState: 'ACTIVE',
  };
}

/** The finding for a user IAM no longer knows: the stored one, resolved and archived. */
export function buildArchivedFinding(
  previous: Finding,
  userName: string,
  trigger: Trigger,
  updatedAt: Date,
): Finding {
  const reason = `IAM user ${userName} no longer exists`;
  return archived(previous, trigger, updatedAt, {
    title: `IAM user ${userName} was deleted (CIS 1.13 finding archived)`,
    description: `${reason}, so it holds no access keys.`,
    recommendation: 'No action needed: the user and its keys are gone.',
    reasonCode: 'USER_DELETED',
    reason,
    verdict: 'user-gone',
    fields: {},
  });
}

/** Where a renamed user's finding went, and who renamed the user (as far as KeyWarden saw it). */
export interface Rename {
  readonly from: string;
  readonly to: string;
  /** The user's ARN under its new name. */
  readonly toArn: string;
  /** The finding that continues this one: the user's finding under its new name. */
  readonly continuedAs: string;
  /** `<ARN> (<type>) at <time>` of the UpdateUser caller; undefined when the event was not seen (a sweep). */
  readonly by: string | undefined;
}

/**
 * The stored finding of a user that was renamed: resolved and archived, saying where it went. The user's record
 * continues in the finding under the new name (Ids are built from the name, so the Id cannot follow).
 */
export function buildRenamedFinding(
  previous: Finding,
  rename: Rename,
  trigger: Trigger,
  updatedAt: Date,
): Finding {
  const by = rename.by ?? 'a principal KeyWarden did not see (the rename was found by following its keys)';
  const reason = `IAM user ${rename.from} was renamed to ${rename.to} by ${by}`;
  return archived(previous, trigger, updatedAt, {
    title: `IAM user ${rename.from} was renamed to ${rename.to} (CIS 1.13 finding continues as ${rename.continuedAs})`,
    description: `${reason}. This finding continues as ${rename.continuedAs} (${rename.toArn}), which keeps KeyWarden's record.`,
    recommendation: `No action needed here: follow ${rename.continuedAs}.`,
    reasonCode: 'USER_RENAMED',
    reason,
    verdict: 'user-renamed',
    fields: {
      [`${FIELD}/renamedTo`]: rename.to,
      [`${FIELD}/renamedBy`]: by,
      [`${FIELD}/continuedAs`]: rename.continuedAs,
    },
  });
}

interface ArchivedShape {
  readonly title: string;
  readonly description: string;
  readonly recommendation: string;
  readonly reasonCode: string;
  readonly reason: string;
  readonly verdict: string;
  readonly fields: Record<string, string>;
}

/** The stored finding, resolved and archived, keeping KeyWarden's fields. */
function archived(previous: Finding, trigger: Trigger, updatedAt: Date, shape: ArchivedShape): Finding {
  const severity = { Label: 'INFORMATIONAL' as const, Original: 'INFORMATIONAL' };
  const types = previous.Types ?? [FINDING_TYPE];
  const fields = Object.fromEntries(
    Object.entries(previous.ProductFields ?? {}).filter(
      ([key]) => key.startsWith(`${FIELD}/`) && !key.includes('/trigger'),
    ),
  );
  return {
    SchemaVersion: '2018-10-08',
    Id: previous.Id,
    ProductArn: previous.ProductArn,
    ProductName: 'KeyWarden',
    CompanyName: 'KeyWarden',
    GeneratorId: GENERATOR_ID,
    AwsAccountId: previous.AwsAccountId,
    Region: previous.Region,
    Types: types,
    CreatedAt: previous.CreatedAt,
    UpdatedAt: iso(updatedAt),
    LastObservedAt: iso(updatedAt),
    Severity: severity,
    FindingProviderFields: { Severity: severity, Types: types },
    Title: truncate(shape.title, 256),
    Description: truncate(`${shape.description} ${describeTrigger(trigger, updatedAt)}`, 1024),
    Remediation: {
      Recommendation: { Text: truncate(shape.recommendation, 512), Url: REMEDIATION_URL },
    },
    ProductFields: Object.fromEntries(
      Object.entries({
        ...fields,
        ...shape.fields,
        [`${FIELD}/verdict`]: shape.verdict,
        ...triggerFields(trigger, updatedAt),
      }).map(([key, value]) => [key, truncate(value, 2048)]),
    ),
    Resources: previous.Resources,
    Compliance: {
      Status: 'PASSED',
      RelatedRequirements: RELATED_REQUIREMENTS,
      StatusReasons: [{ ReasonCode: shape.reasonCode, Description: truncate(shape.reason, 2048) }],
    },
    RecordState: 'ARCHIVED',
  };
}
