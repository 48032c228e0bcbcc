/**
 * The engine's side of the threat findings (MITRE ATT&CK T1098.001): the one read of stored findings a check makes,
 * and the sweep's resolution of open threat findings. The decisions are in core/threat-decision.ts.
 */

import type { IamPort } from '../adapters/iam.ts';
import type { FindingsPort } from '../adapters/securityhub.ts';
import { type Finding, productArnFor } from '../core/finding.ts';
import { decideThreats } from '../core/threat-decision.ts';
import {
  THREAT_GENERATOR_ID,
  THREAT_KEY_FIELD,
  THREAT_USER_NAME_FIELD,
  threatFindingIdFor,
} from '../core/threat-finding.ts';
import type { AccessKey, AccountContext, IamUser, Trigger } from '../core/types.ts';

export { threatNotification } from '../core/notification.ts';
export {
  type Attribution,
  attribute,
  decideThreats,
  originsOf,
  type ThreatInput,
  type ThreatOutcome,
  threatKeysToRead,
} from '../core/threat-decision.ts';

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
