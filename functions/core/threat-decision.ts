/**
 * The threat findings' decisions (MITRE ATT&CK T1098.001): who made an event's key usable, which stored threat
 * findings a check needs, the finding to raise for a key another principal made usable, and the resolutions IAM's
 * state calls for. Pure.
 */

import type { KeepKeyStrategy } from '../shared/constants.ts';
import {
  classifyMinter,
  type KeyGrant,
  type KeyOrigin,
  type KeyOrigins,
  keyGrantOf,
  keyOrigin,
  type Minter,
} from './attribution.ts';
import type { Finding } from './finding.ts';
import {
  buildThreatFinding,
  originOfThreat,
  renamedThreatRecord,
  resolvedByOf,
  THREAT_USER_NAME_FIELD,
  type ThreatState,
  threatRecordFromEvent,
  threatRecordOf,
} from './threat-finding.ts';
import {
  type AccessKey,
  type AccountContext,
  type Expectation,
  type IamUser,
  isActive,
  type Trigger,
  type UserSnapshot,
} from './types.ts';

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

export const NO_THREATS: ThreatOutcome = { findings: [], raised: undefined };

/**
 * The stored threat findings that belong to this user: those of a key IAM lists under it (a key id names one user,
 * whatever name the finding recorded before a rename), and those that name it.
 */
export function threatsOfUser(
  threats: ReadonlyMap<string, Finding>,
  snapshot: UserSnapshot,
): Map<string, Finding> {
  const name = snapshot.user.userName.toLowerCase();
  const listed = new Set(snapshot.keys.map((key) => key.accessKeyId));
  return new Map(
    [...threats].filter(
      ([accessKeyId, finding]) =>
        listed.has(accessKeyId) || finding.ProductFields?.[THREAT_USER_NAME_FIELD]?.toLowerCase() === name,
    ),
  );
}
