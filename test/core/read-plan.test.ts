import { describe, expect, it } from 'vitest';
import { findingIdFor } from '../../functions/core/finding.ts';
import {
  type CheckInput,
  type FindingsRead,
  type PlanSettings,
  planReads,
} from '../../functions/core/read-plan.ts';
import type { EventTrigger, UserSnapshot } from '../../functions/core/types.ts';
import {
  ACCOUNT,
  EVENT_TRIGGER,
  NEW_KEY,
  NOW,
  OLD_KEY,
  POLICY,
  SWEEP_TRIGGER,
  snapshot,
} from './builders.ts';

const ALICE_ID = findingIdFor(ACCOUNT.accountId, 'alice');
const OLD = OLD_KEY.accessKeyId;
const NEW = NEW_KEY.accessKeyId;
const inactive = { ...OLD_KEY, status: 'Inactive' };

/** An event on alice's keys by alice herself (self) or by `admin` (another principal). */
const event = (overrides: Partial<EventTrigger>, by: 'self' | 'admin' = 'self'): EventTrigger => ({
  ...EVENT_TRIGGER,
  ...(by === 'self'
    ? { actorArn: 'arn:aws:iam::123456789012:user/alice', actorUserName: 'alice' }
    : { actorArn: 'arn:aws:iam::123456789012:user/admin', actorUserName: 'admin' }),
  ...overrides,
});
const created = (by: 'self' | 'admin' = 'self') =>
  event({ eventName: 'CreateAccessKey', accessKeyId: NEW }, by);
const updated = (accessKeyId: string, by: 'self' | 'admin' = 'self') =>
  event({ eventName: 'UpdateAccessKey', accessKeyId }, by);
const deleted = event({ eventName: 'DeleteAccessKey', accessKeyId: OLD });
const renamed = (from: string) =>
  event({ eventName: 'UpdateUser', accessKeyId: undefined, renamedFrom: from });
const tagged = (value: string, by: string) =>
  event({
    eventName: 'TagUser',
    accessKeyId: undefined,
    actorArn: by,
    actorUserName: '',
    actorType: 'AssumedRole',
    tagKeys: ['keywarden:exempt'],
    tagValues: { 'keywarden:exempt': value },
  });

const APPROVER = 'arn:aws:sts::123456789012:assumed-role/SecurityAdmin/jane';
const APPROVERS: PlanSettings = {
  ...POLICY,
  exemptionApprovers: ['arn:aws:sts::123456789012:assumed-role/SecurityAdmin/*'],
};

const none: FindingsRead = { kind: 'none' };
const getFinding: FindingsRead = { kind: 'get-finding', findingId: ALICE_ID };
const findFindings = (
  threatKeys: readonly string[],
  complianceId: string | undefined = undefined,
  formerId: string | undefined = undefined,
): FindingsRead => ({ kind: 'find-findings', complianceId, formerId, threatKeys });

interface Case {
  readonly case: string;
  readonly input: Omit<CheckInput, 'userName'>;
  readonly user: UserSnapshot | undefined;
  readonly settings?: PlanSettings;
  readonly findings: FindingsRead;
  /** Security Hub calls of the plan (the call-count budgets: at most one GetFindings per event). */
  readonly securityHub: 0 | 1;
  readonly exemption?: 'none' | 'known' | 'cloudtrail';
}

const two = snapshot([OLD_KEY, NEW_KEY]);

describe('planReads', () => {
  it.each<Case>([
    // A first key: no finding can exist, unless another principal made it (is its threat finding recorded?).
    {
      case: 'a first key the user created',
      input: { trigger: created() },
      user: snapshot([NEW_KEY]),
      findings: none,
      securityHub: 0,
    },
    {
      case: 'a first key another principal created',
      input: { trigger: created('admin') },
      user: snapshot([NEW_KEY]),
      findings: findFindings([NEW]),
      securityHub: 1,
    },
    // A key that is not active: a finding may exist (KeyWarden may have switched it off).
    {
      case: 'a new key beside an inactive one',
      input: { trigger: created() },
      user: snapshot([inactive, NEW_KEY]),
      findings: getFinding,
      securityHub: 1,
    },
    // A deactivation may end a violation: the finding is read, with the named key's threat finding.
    {
      case: 'a deactivation that leaves one key',
      input: { trigger: updated(OLD), expectation: { accessKeyId: OLD, state: 'Inactive' } },
      user: snapshot([inactive, NEW_KEY]),
      findings: findFindings([OLD], ALICE_ID),
      securityHub: 1,
    },
    {
      case: 'a re-activation by another principal that makes a violation',
      input: { trigger: updated(OLD, 'admin'), expectation: { accessKeyId: OLD, state: 'Active' } },
      user: two,
      findings: findFindings([OLD, NEW]),
      securityHub: 1,
    },
    {
      case: 'a deletion that leaves one key',
      input: { trigger: deleted },
      user: snapshot([NEW_KEY]),
      findings: findFindings([OLD], ALICE_ID),
      securityHub: 1,
    },
    // A violation's finding is written whatever it held: nothing to read, unless a threat needs it.
    {
      case: 'a second key the user created (violation)',
      input: { trigger: created() },
      user: two,
      findings: none,
      securityHub: 0,
    },
    {
      case: 'a second key another principal created (violation)',
      input: { trigger: created('admin') },
      user: two,
      findings: findFindings([NEW, OLD]),
      securityHub: 1,
    },
    // KEEP_KEY=auto must know who made the newest key usable when the event does not say.
    {
      case: 'a re-activation of the older key, keep newest',
      input: { trigger: updated(OLD), expectation: { accessKeyId: OLD, state: 'Active' } },
      user: two,
      findings: none,
      securityHub: 0,
    },
    {
      case: 'a re-activation of the older key, keep auto',
      input: { trigger: updated(OLD), expectation: { accessKeyId: OLD, state: 'Active' } },
      user: two,
      settings: { ...POLICY, keepKey: 'auto' },
      findings: findFindings([NEW]),
      securityHub: 1,
    },
    // A sweep: the caller's finding, else one GetFinding for a compliant user.
    {
      case: 'a sweep of a compliant user',
      input: { trigger: SWEEP_TRIGGER },
      user: snapshot([NEW_KEY]),
      findings: getFinding,
      securityHub: 1,
    },
    {
      case: 'a sweep that passes the stored finding',
      input: { trigger: SWEEP_TRIGGER, previousFinding: null },
      user: snapshot([NEW_KEY]),
      findings: none,
      securityHub: 0,
    },
    {
      case: 'a sweep of a violation',
      input: { trigger: SWEEP_TRIGGER },
      user: two,
      findings: none,
      securityHub: 0,
    },
    // A user IAM no longer knows: the finding to archive, and the event's key's threat finding.
    {
      case: 'a deletion whose user is gone',
      input: { trigger: deleted },
      user: undefined,
      findings: findFindings([OLD], ALICE_ID),
      securityHub: 1,
    },
    {
      case: 'a sweep whose user is gone',
      input: { trigger: SWEEP_TRIGGER },
      user: undefined,
      findings: getFinding,
      securityHub: 1,
    },
    {
      case: 'a sweep whose user is gone, finding passed',
      input: { trigger: SWEEP_TRIGGER, previousFinding: null },
      user: undefined,
      findings: none,
      securityHub: 0,
    },
    // A rename: the findings under both names and every key's threat finding, in one GetFindings.
    {
      case: 'a rename',
      input: { trigger: renamed('carol') },
      user: snapshot([NEW_KEY]),
      findings: findFindings([NEW], ALICE_ID, findingIdFor(ACCOUNT.accountId, 'carol')),
      securityHub: 1,
    },
    {
      case: 'an UpdateUser that renames nothing (case only)',
      input: { trigger: renamed('ALICE') },
      user: snapshot([NEW_KEY]),
      findings: none,
      securityHub: 0,
    },
    // An exemption with approvers: the TagUser being handled proves who set it; otherwise CloudTrail says.
    {
      case: 'an approver tagging the user',
      input: { trigger: tagged('true', APPROVER) },
      user: snapshot([OLD_KEY, NEW_KEY], { tags: { 'keywarden:exempt': 'true' } }),
      settings: APPROVERS,
      findings: none,
      securityHub: 0,
      exemption: 'known',
    },
    {
      case: 'a sweep of a tagged user',
      input: { trigger: SWEEP_TRIGGER },
      user: snapshot([OLD_KEY, NEW_KEY], { tags: { 'keywarden:exempt': 'true' } }),
      settings: APPROVERS,
      findings: none,
      securityHub: 0,
      exemption: 'cloudtrail',
    },
    {
      case: 'a sweep of a tagged user, no approvers',
      input: { trigger: SWEEP_TRIGGER },
      user: snapshot([OLD_KEY, NEW_KEY], { tags: { 'keywarden:exempt': 'true' } }),
      findings: none,
      securityHub: 0,
      exemption: 'none',
    },
    {
      case: 'a tagged user with one key',
      input: { trigger: SWEEP_TRIGGER, previousFinding: null },
      user: snapshot([NEW_KEY], { tags: { 'keywarden:exempt': 'true' } }),
      settings: APPROVERS,
      findings: none,
      securityHub: 0,
      exemption: 'none',
    },
  ])(
    'plans $securityHub Security Hub call(s) for $case',
    ({ input, user, settings, findings, securityHub, exemption }) => {
      // Prepare
      const request: CheckInput = { userName: 'alice', ...input };

      // Act
      const plan = planReads(ACCOUNT, settings ?? POLICY, request, user, NOW);

      // Assess
      expect(plan.findings).toEqual(findings);
      expect(plan.findings.kind === 'none' ? 0 : 1).toBe(securityHub);
      expect(plan.exemption.kind).toBe(exemption ?? 'none');
    },
  );

  it('reads no former finding the caller already holds, but still the user and threat findings', () => {
    const former = { Id: findingIdFor(ACCOUNT.accountId, 'carol') } as never;
    const plan = planReads(
      ACCOUNT,
      POLICY,
      { userName: 'alice', trigger: renamed('carol'), formerFinding: former },
      snapshot([NEW_KEY]),
      NOW,
    );
    expect(plan.findings).toEqual(findFindings([NEW], ALICE_ID));
  });
});
