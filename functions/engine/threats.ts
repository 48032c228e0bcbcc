/**
 * The engine's side of the threat findings (MITRE ATT&CK T1098.001): which stored threat findings a check needs,
 * the finding to raise for a key another principal made usable, and the resolutions IAM's state calls for.
 * The decisions are pure; `readThreatFindings` is the one call to Security Hub.
 */

import type { IamPort } from '../adapters/iam.ts';
import type { Notification } from '../adapters/notify.ts';
import type { FindingsPort } from '../adapters/securityhub.ts';
import {
  classifyMinter,
  type KeyGrant,
  type KeyOrigin,
  type KeyOrigins,
  keyGrantOf,
  keyOrigin,
  type Minter,
} from '../core/attribution.ts';
import { type Finding, productArnFor } from '../core/finding.ts';
import {
  buildThreatFinding,
  originOfThreat,
  renamedThreatRecord,
  resolvedByOf,
  THREAT_GENERATOR_ID,
  THREAT_KEY_FIELD,
  THREAT_USER_NAME_FIELD,
  type ThreatState,
  threatFindingIdFor,
  threatRecordFromEvent,
  threatRecordOf,
} from '../core/threat-finding.ts';
import {
  type AccessKey,
  type AccountContext,
  type Expectation,
  type IamUser,
  isActive,
  type Trigger,
} from '../core/types.ts';
import type { KeepKeyStrategy } from '../shared/constants.ts';

/** The key an event made usable, who did it, and what that says about the key's origin. */
export interface Attribution {
  readonly grant: KeyGrant;
  readonly minter: Minter;
  readonly origin: KeyOrigin;
}

/** Attributes an event that created or re-activated a key; undefined for any other trigger. */
export function attribute(
  trigger: Trigger,
  expectation: Expectation | undefined,
  userName: string,
  accountId: string,
  trustedKeyIssuers: readonly string[],
): Attribution | undefined {
  if (trigger.kind !== 'event') return undefined;
  const grant = keyGrantOf(trigger, expectation);
  if (grant === undefined) return undefined;
  const minter = classifyMinter(trigger, userName, accountId, trustedKeyIssuers);
  return { grant, minter, origin: keyOrigin(trigger, grant, minter) };
}

/**
 * The keys whose stored threat findings an event's check reads, so that an event that needs none costs no call:
 * the key an event granted to another principal (is it already recorded?), the key a deletion or deactivation
 * names (to resolve its finding), and the user's other active keys when that read happens anyway or when
 * KEEP_KEY=auto must know who made the newest active key usable and this event does not say. A sweep reads
 * nothing here: it reads every open threat finding in one query and passes their origins.
 */
export function threatKeysToRead(
  trigger: Trigger,
  attribution: Attribution | undefined,
  activeKeys: readonly AccessKey[],
  keepKey: KeepKeyStrategy,
): string[] {
  if (trigger.kind !== 'event') return [];
  const ids = new Set<string>();
  const granted = attribution?.grant.accessKeyId;
  if (attribution?.minter.kind === 'another-principal') ids.add(attribution.grant.accessKeyId);
  const resolving = trigger.eventName === 'DeleteAccessKey' || trigger.eventName === 'UpdateAccessKey';
  if (resolving && attribution === undefined && trigger.accessKeyId !== undefined)
    ids.add(trigger.accessKeyId);
  const newest = [...activeKeys].sort(
    (a, b) => b.createDate.getTime() - a.createDate.getTime() || b.accessKeyId.localeCompare(a.accessKeyId),
  )[0];
  const autoNeedsOrigin = keepKey === 'auto' && newest !== undefined && newest.accessKeyId !== granted;
  if (activeKeys.length >= 2 && (ids.size > 0 || autoNeedsOrigin)) {
    for (const key of activeKeys) if (key.accessKeyId !== granted) ids.add(key.accessKeyId);
  }
  return [...ids];
}

export interface StoredFindings {
  /** The user's CIS 1.13 finding, when it was asked for and exists. */
  readonly compliance: Finding | undefined;
  /** The CIS 1.13 finding under the user's former name (a rename), when it was asked for and exists. */
  readonly former?: Finding | undefined;
  /** The stored threat findings of the keys asked for, by access key id. */
  readonly threats: Map<string, Finding>;
}

/**
 * Reads, in one GetFindings, the user's CIS 1.13 finding (when `complianceId` is set), its finding under a former
 * name (when `formerId` is set) and the threat findings of these keys; no call when there is nothing to read.
 * Security Hub ORs the values of one filter field.
 */
export async function readStoredFindings(
  findings: FindingsPort,
  account: AccountContext,
  complianceId: string | undefined,
  accessKeyIds: readonly string[],
  formerId?: string,
): Promise<StoredFindings> {
  if (complianceId === undefined && formerId === undefined && accessKeyIds.length === 0)
    return { compliance: undefined, threats: new Map() };
  const productArn = productArnFor(account);
  const threatIds = new Set(accessKeyIds.map((id) => threatFindingIdFor(account.accountId, id)));
  const complianceIds = [complianceId, formerId].filter((id): id is string => id !== undefined);
  const ids = [...complianceIds, ...threatIds];
  // Emulators ignore the filters: each finding is checked again here.
  const stored = await findings.findFindings(
    {
      Id: ids.map((Value) => ({ Value, Comparison: 'EQUALS' as const })),
      ProductArn: [{ Value: productArn, Comparison: 'EQUALS' }],
    },
    (finding) =>
      finding.ProductArn === productArn &&
      finding.Id !== undefined &&
      (complianceIds.includes(finding.Id) ||
        (threatIds.has(finding.Id) && finding.GeneratorId === THREAT_GENERATOR_ID)),
  );
  const compliance = stored.find((finding) => finding.Id === complianceId);
  const former = formerId === undefined ? undefined : stored.find((finding) => finding.Id === formerId);
  const threats = new Map(
    stored
      .filter((finding) => !complianceIds.includes(finding.Id as string))
      .map((finding) => [finding.ProductFields?.[THREAT_KEY_FIELD] ?? '', finding] as const),
  );
  return { compliance, ...(former !== undefined ? { former } : {}), threats };
}

/** The stored threat findings of these keys, by access key id; no call when there is none to read. */
export async function readThreatFindings(
  findings: FindingsPort,
  account: AccountContext,
  accessKeyIds: readonly string[],
): Promise<Map<string, Finding>> {
  return (await readStoredFindings(findings, account, undefined, accessKeyIds)).threats;
}

/** Who made the user's keys usable, as far as KeyWarden knows: this event, then open threat findings. */
export function originsOf(
  attribution: Attribution | undefined,
  stored: ReadonlyMap<string, Finding>,
  known: KeyOrigins = new Map(),
): KeyOrigins {
  const origins = new Map(known);
  for (const finding of stored.values()) {
    const origin = originOfThreat(finding);
    if (origin !== undefined && !origins.has(origin.accessKeyId)) origins.set(origin.accessKeyId, origin);
  }
  if (attribution !== undefined) origins.set(attribution.grant.accessKeyId, attribution.origin);
  return origins;
}

type KeyState = ThreatState['key'];

/** The key's state in a stored threat finding. */
function storedState(finding: Finding): KeyState {
  if (finding.RecordState === 'ARCHIVED') return 'deleted';
  return finding.Compliance?.Status === 'FAILED' ? 'active' : 'inactive';
}

function currentState(accessKeyId: string, keys: readonly AccessKey[]): KeyState {
  const key = keys.find((k) => k.accessKeyId === accessKeyId);
  if (key === undefined) return 'deleted';
  return isActive(key) ? 'active' : 'inactive';
}

// Findings move only towards resolved: active → inactive → deleted.
const RANK: Readonly<Record<KeyState, number>> = { active: 0, inactive: 1, deleted: 2 };

function state(key: KeyState, by: string, at: Date): ThreatState {
  return key === 'active' ? { key } : { key, by, at };
}

export interface ThreatOutcome {
  /** Threat findings to import: the one raised, and resolutions. */
  readonly findings: readonly Finding[];
  /** Set when this check raised (or re-raised) the threat finding of the event's key. */
  readonly raised: Finding | undefined;
}

export interface ThreatInput {
  readonly account: AccountContext;
  readonly trigger: Trigger;
  readonly attribution: Attribution | undefined;
  readonly stored: ReadonlyMap<string, Finding>;
  /** The user as IAM has it; undefined when the user is gone. */
  readonly user: IamUser | undefined;
  /** The keys as IAM listed them for this check, before any action of KeyWarden's. */
  readonly keysBefore: readonly AccessKey[];
  /** The keys after KeyWarden's action (deactivated ones inactive). */
  readonly keysAfter: readonly AccessKey[];
  /** Keys KeyWarden itself deactivated in this check. */
  readonly deactivatedByKeyWarden: ReadonlySet<string>;
  readonly now: Date;
}

/**
 * Decides the threat findings of one check. A key another principal made usable raises its finding (once per
 * event: a repeated delivery changes nothing unless the key's state did). Every stored finding whose key IAM now
 * shows inactive or gone is resolved; a finding is never re-opened except by a new grant from another principal.
 */
export function decideThreats(input: ThreatInput): ThreatOutcome {
  const { account, trigger, attribution, stored, now } = input;
  const findings: Finding[] = [];
  const by = (accessKeyId: string): string =>
    input.deactivatedByKeyWarden.has(accessKeyId)
      ? "deactivated by KeyWarden's CIS 1.13 remediation"
      : resolvedByOf(trigger);
  let raised: Finding | undefined;

  const granted = attribution?.minter.kind === 'another-principal' ? attribution.grant : undefined;
  if (granted !== undefined && trigger.kind === 'event' && input.user !== undefined) {
    const previous = stored.get(granted.accessKeyId);
    const record = previous === undefined ? undefined : threatRecordOf(previous);
    const is = currentState(granted.accessKeyId, input.keysAfter);
    if (previous === undefined || record === undefined || record.eventId !== trigger.eventId) {
      const fresh = threatRecordFromEvent({
        trigger,
        grant: granted,
        user: input.user,
        keys: input.keysBefore,
        now,
      });
      raised = buildThreatFinding(account, fresh, state(is, by(granted.accessKeyId), now), now);
      findings.push(raised);
    } else {
      // A repeated delivery of a recorded event: import only a resolution since, never re-open.
      const was = storedState(previous);
      if (RANK[is] > RANK[was]) {
        findings.push(buildThreatFinding(account, record, state(is, by(granted.accessKeyId), now), now));
      } else if (was === 'active' && is === 'active') {
        // Recorded and open: the earlier delivery may have failed before notifying (at least once).
        raised = previous;
      }
    }
  }

  for (const [accessKeyId, previous] of stored) {
    if (accessKeyId === granted?.accessKeyId) continue;
    const stale = threatRecordOf(previous);
    if (stale === undefined) continue;
    const is = currentState(accessKeyId, input.keysAfter);
    const was = storedState(previous);
    // A key IAM lists under this user is this user's, whatever name the finding recorded: a rename is followed.
    const record =
      input.user !== undefined && is !== 'deleted' ? renamedThreatRecord(stale, input.user) : stale;
    const renamed = record !== stale && was === 'active' && is === 'active';
    if (RANK[is] > RANK[was] || renamed)
      findings.push(buildThreatFinding(account, record, state(is, by(accessKeyId), now), now));
  }
  return { findings, raised };
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

/**
 * The sweep's part: resolves the open threat findings whose key IAM now shows inactive or gone, reading each
 * user's keys live (one ListAccessKeys per user with an open threat finding). When the user the finding names is
 * gone, each key is followed by its id (GetAccessKeyLastUsed names the user holding it now): a renamed user's key
 * keeps its finding, which then names the user as IAM calls it (one GetUser and ListAccessKeys more); only a key
 * IAM does not know is deleted. A user whose keys cannot be read is returned in `failures` and its findings are
 * left as they are.
 */
export async function resolveThreats(
  iam: Pick<IamPort, 'listKeys' | 'keyOwner' | 'readUser'>,
  account: AccountContext,
  openThreats: readonly Finding[],
  trigger: Trigger,
  clock: () => Date,
  /** Key holders the caller already asked IAM for (GetAccessKeyLastUsed), by access key id. */
  knownHolders: ReadonlyMap<string, string | undefined> = new Map(),
): Promise<{ findings: Finding[]; failures: { userName: string; error: unknown }[] }> {
  const byUser = new Map<string, { userName: string; stored: Map<string, Finding> }>();
  for (const finding of openThreats) {
    const userName = finding.ProductFields?.[THREAT_USER_NAME_FIELD] ?? '';
    const accessKeyId = finding.ProductFields?.[THREAT_KEY_FIELD] ?? '';
    if (userName === '' || accessKeyId === '') continue;
    const group = byUser.get(userName.toLowerCase()) ?? { userName, stored: new Map<string, Finding>() };
    group.stored.set(accessKeyId, finding);
    byUser.set(userName.toLowerCase(), group);
  }
  const findings: Finding[] = [];
  const failures: { userName: string; error: unknown }[] = [];
  for (const { userName, stored } of byUser.values()) {
    let groups: { user: IamUser | undefined; keys: readonly AccessKey[]; stored: Map<string, Finding> }[];
    try {
      const keys = await iam.listKeys(userName);
      groups =
        keys !== undefined
          ? [{ user: undefined, keys, stored }]
          : await followKeys(iam, userName, stored, knownHolders);
    } catch (error) {
      failures.push({ userName, error });
      continue;
    }
    for (const group of groups) {
      const outcome = decideThreats({
        account,
        trigger,
        attribution: undefined,
        stored: group.stored,
        user: group.user,
        keysBefore: group.keys,
        keysAfter: group.keys,
        deactivatedByKeyWarden: new Set(),
        now: clock(),
      });
      findings.push(...outcome.findings);
    }
  }
  return { findings, failures };
}

/**
 * The keys of a user IAM no longer knows by that name, each followed by its id to the user holding it now, grouped
 * by that user (with its keys as IAM lists them); a key IAM does not know is in a group without user or keys, so
 * its finding is archived as deleted.
 */
async function followKeys(
  iam: Pick<IamPort, 'keyOwner' | 'readUser'>,
  formerName: string,
  stored: ReadonlyMap<string, Finding>,
  knownHolders: ReadonlyMap<string, string | undefined>,
): Promise<{ user: IamUser | undefined; keys: readonly AccessKey[]; stored: Map<string, Finding> }[]> {
  const gone = new Map<string, Finding>();
  const byHolder = new Map<
    string,
    { user: IamUser; keys: readonly AccessKey[]; stored: Map<string, Finding> }
  >();
  for (const [accessKeyId, finding] of stored) {
    const owner = knownHolders.has(accessKeyId)
      ? knownHolders.get(accessKeyId)
      : await iam.keyOwner(accessKeyId);
    const known = owner === undefined ? undefined : byHolder.get(owner.toLowerCase());
    const holder =
      known ??
      (owner === undefined || owner.toLowerCase() === formerName.toLowerCase()
        ? undefined
        : await iam.readUser(owner));
    // Listed under its holder, or gone: a key IAM names but does not list (a race) is left for the next sweep.
    if (holder === undefined) {
      if (owner === undefined) gone.set(accessKeyId, finding);
      continue;
    }
    if (!holder.keys.some((key) => key.accessKeyId === accessKeyId)) continue;
    const group = byHolder.get(holder.user.userName.toLowerCase()) ?? { ...holder, stored: new Map() };
    group.stored.set(accessKeyId, finding);
    byHolder.set(holder.user.userName.toLowerCase(), group);
  }
  return [{ user: undefined, keys: [], stored: gone }, ...byHolder.values()];
}
