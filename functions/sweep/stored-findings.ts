/**
 * The sweep's second step: the findings Security Hub holds for the account. Open compliance findings add their
 * users to the candidates (so they are resolved or archived), resolved findings of deleted users are archived,
 * users renamed without KeyWarden seeing it are followed by their keys' ids, and open threat findings are kept
 * for the check (KEEP_KEY=auto) and for their own resolution.
 */

import type { AwsSecurityFindingFilters } from '@aws-sdk/client-securityhub';
import { type Finding, findingIdFor, GENERATOR_ID, productArnFor, USER_NAME_FIELD } from '../core/finding.ts';
import { readRecord } from '../core/record.ts';
import {
  isOpenThreat,
  THREAT_GENERATOR_ID,
  THREAT_KEY_FIELD,
  THREAT_USER_NAME_FIELD,
} from '../core/threat-finding.ts';
import type { AccountContext } from '../core/types.ts';
import { mapBounded } from './concurrency.ts';
import type { Candidate, Listing, SweepDeps } from './types.ts';

const OPEN_STATUSES = ['FAILED', 'WARNING'] as const;

/** What the sweep knows after reading the stored findings. */
export interface StoredFindings {
  /** By lower-case user name, in the order they are checked: the listing's, then the findings' users. */
  readonly candidates: ReadonlyMap<string, Candidate>;
  readonly openThreats: readonly Finding[];
  /** The user IAM says holds each key looked up (undefined: IAM does not know the key). */
  readonly keyHolders: ReadonlyMap<string, string | undefined>;
}

/** The listing's candidates alone: a sweep that does not reconcile reads no finding. */
export function withoutStoredFindings(listing: Listing): StoredFindings {
  return {
    candidates: new Map(listing.candidates.map((c) => [c.userName.toLowerCase(), c])),
    openThreats: [],
    keyHolders: new Map(),
  };
}

/**
 * Reads this generator's open findings (compliance and threat, one query) and its resolved ones, and adds the
 * users they name to the listing's candidates.
 */
export async function readStoredFindings(
  deps: SweepDeps,
  account: AccountContext,
  listing: Listing,
  concurrency: number,
): Promise<StoredFindings> {
  const candidates = new Map(withoutStoredFindings(listing).candidates);
  deps.onProgress?.({ phase: 'findings' });
  const found = await deps.findings.findFindings(
    openFindingFilters(account),
    (f) => isOpenFinding(account, f) || isOpenThreatFinding(account, f),
  );
  const openThreats = found.filter((f) => isOpenThreatFinding(account, f));
  addUsersOfOpenFindings(
    deps,
    account,
    listing.listedNames,
    candidates,
    found.filter((f) => isOpenFinding(account, f)),
  );
  await addGoneUsersOfResolvedFindings(deps, account, listing.listedNames, candidates, concurrency);
  const keyHolders = await followRenames(deps, listing.listedNames, candidates, openThreats);
  return { candidates, openThreats, keyHolders };
}

/** Each open finding's user becomes a candidate carrying the finding, listed or not. */
function addUsersOfOpenFindings(
  deps: SweepDeps,
  account: AccountContext,
  listedNames: ReadonlySet<string>,
  candidates: Map<string, Candidate>,
  open: readonly Finding[],
): void {
  for (const finding of open) {
    const userName = userNameOf(finding);
    if (userName === undefined || findingIdFor(account.accountId, userName) !== finding.Id) {
      deps.onWarning?.('open finding names no user KeyWarden can check; left as it is', {
        findingId: finding.Id,
      });
      continue;
    }
    const known = candidates.get(userName.toLowerCase());
    candidates.set(userName.toLowerCase(), {
      userName: known?.userName ?? userName,
      listed: listedNames.has(userName.toLowerCase()),
      reportRow: known?.reportRow,
      previous: finding,
    });
  }
}

/**
 * Server-side filters for the open CIS 1.13 and threat findings (one query for both); AWS applies them, emulators
 * ignore them.
 */
export function openFindingFilters(account: AccountContext): AwsSecurityFindingFilters {
  const equals = (value: string) => ({ Value: value, Comparison: 'EQUALS' as const });
  return {
    GeneratorId: [equals(GENERATOR_ID), equals(THREAT_GENERATOR_ID)],
    ProductArn: [equals(productArnFor(account))],
    AwsAccountId: [equals(account.accountId)],
    ComplianceStatus: OPEN_STATUSES.map(equals),
    RecordState: [equals('ACTIVE')],
  };
}

/** The same test, client-side: the server-side filter is not trusted (emulators, eventual consistency). */
export function isOpenFinding(account: AccountContext, finding: Finding): boolean {
  return (
    isActiveFindingOf(account, finding) &&
    (OPEN_STATUSES as readonly string[]).includes(finding.Compliance?.Status ?? '')
  );
}

function isActiveFindingOf(account: AccountContext, finding: Finding): boolean {
  return (
    finding.GeneratorId === GENERATOR_ID &&
    finding.ProductArn === productArnFor(account) &&
    finding.AwsAccountId === account.accountId &&
    finding.RecordState === 'ACTIVE'
  );
}

/** An open threat finding of this account (key minted by another principal, key still active when last seen). */
export function isOpenThreatFinding(account: AccountContext, finding: Finding): boolean {
  return (
    isOpenThreat(finding) &&
    finding.ProductArn === productArnFor(account) &&
    finding.AwsAccountId === account.accountId &&
    (finding.ProductFields?.[THREAT_USER_NAME_FIELD] ?? '') !== ''
  );
}

/** Server-side filters for the CIS 1.13 findings resolved but still active (their user may be gone since). */
export function resolvedFindingFilters(account: AccountContext): AwsSecurityFindingFilters {
  return {
    ...openFindingFilters(account),
    GeneratorId: [{ Value: GENERATOR_ID, Comparison: 'EQUALS' }],
    ComplianceStatus: [{ Value: 'PASSED', Comparison: 'EQUALS' }],
  };
}

/** The same test, client-side (see isOpenFinding). */
export function isResolvedFinding(account: AccountContext, finding: Finding): boolean {
  return isActiveFindingOf(account, finding) && finding.Compliance?.Status === 'PASSED';
}

/** The IAM user a finding is about, from its product fields, else its AwsIamUser resource. */
export function userNameOf(finding: Finding): string | undefined {
  const fromField = finding.ProductFields?.[USER_NAME_FIELD];
  if (fromField) return fromField;
  const resource = finding.Resources?.find((r) => r.Type === 'AwsIamUser');
  return resource?.Details?.AwsIamUser?.UserName || resource?.Id?.split('/').pop() || undefined;
}

/**
 * Adds the users of this generator's PASSED, ACTIVE findings that no longer exist to the candidates, so their
 * findings are archived as those of open findings are. Only users absent from the listing are read live (one
 * ListAccessKeys each): a user created after the credential report is absent too, and is left alone. A user that
 * cannot be read keeps its finding until the next sweep: a resolved finding claims nothing that needs fixing.
 */
async function addGoneUsersOfResolvedFindings(
  deps: SweepDeps,
  account: AccountContext,
  listedNames: ReadonlySet<string>,
  candidates: Map<string, Candidate>,
  concurrency: number,
): Promise<void> {
  const resolved = await deps.findings.findFindings(resolvedFindingFilters(account), (f) =>
    isResolvedFinding(account, f),
  );
  const unlisted = resolved.flatMap((finding) => {
    const userName = userNameOf(finding);
    if (userName === undefined || findingIdFor(account.accountId, userName) !== finding.Id) return [];
    const key = userName.toLowerCase();
    return listedNames.has(key) || candidates.has(key) ? [] : [{ userName, finding }];
  });
  const settled = await mapBounded(unlisted, concurrency, ({ userName }) => deps.iam.listKeys(userName));
  settled.forEach((outcome, index) => {
    const { userName, finding } = unlisted[index] as (typeof unlisted)[number];
    if (outcome?.ok === false) {
      deps.onWarning?.('could not check whether the user of a resolved finding still exists; left as it is', {
        findingId: finding.Id,
        error: outcome.error instanceof Error ? outcome.error.message : String(outcome.error),
      });
    } else if (outcome?.ok && outcome.value === undefined) {
      candidates.set(userName.toLowerCase(), {
        userName,
        listed: false,
        reportRow: undefined,
        previous: finding,
      });
    }
  });
}

/** The access key ids a compliance finding recorded (its key fields, else its key resources). */
function recordedKeyIds(finding: Finding): string[] {
  const fields = finding.ProductFields ?? {};
  const fromFields = Object.entries(fields)
    .filter(([name]) => /^keywarden\/detector\/key\d+\/accessKeyId$/.test(name))
    .map(([, id]) => id);
  if (fromFields.length > 0) return fromFields;
  return (finding.Resources ?? []).flatMap((resource) => {
    const id =
      resource.Type === 'AwsIamAccessKey' ? resource.Details?.AwsIamAccessKey?.AccessKeyId : undefined;
    return id ? [id] : [];
  });
}

/**
 * Follows, by key id, the users that open findings name but the listing does not: GetAccessKeyLastUsed names the
 * user holding a key now, so a user renamed without KeyWarden seeing the event keeps its findings. Asked only for
 * keys that matter, never for every gone user (a deleted user's plain finding is archived as before): the keys of
 * open threat findings whose user is missing, and the recorded keys of a missing user whose finding holds
 * KeyWarden's record (a deactivation, an intent, a re-activation). Such a candidate is replaced by the user holding
 * its keys, which carries the finding (archived under the old name, saying where it went). Returns each key's
 * holder (undefined: IAM does not know the key), for the threat findings' resolution.
 */
async function followRenames(
  deps: SweepDeps,
  listedNames: ReadonlySet<string>,
  candidates: Map<string, Candidate>,
  openThreats: readonly Finding[],
): Promise<Map<string, string | undefined>> {
  const lookup = keyHolderLookup(deps);
  const missing = (userName: string): boolean => !listedNames.has(userName.toLowerCase());
  for (const threat of openThreats) {
    const userName = threat.ProductFields?.[THREAT_USER_NAME_FIELD] ?? '';
    const accessKeyId = threat.ProductFields?.[THREAT_KEY_FIELD] ?? '';
    if (userName === '' || accessKeyId === '' || !missing(userName)) continue;
    try {
      await lookup.holderOf(accessKeyId);
    } catch (error) {
      lookup.warn(threat.Id, error);
    }
  }
  const unlisted = [...candidates.values()].filter(
    (candidate) => candidate.previous !== undefined && missing(candidate.userName),
  );
  for (const candidate of unlisted) {
    const holder = await renamedTo(lookup, candidate);
    if (holder === undefined) continue;
    const key = holder.toLowerCase();
    const known = candidates.get(key);
    // Never carry onto a user with an open finding of its own: that one holds its record.
    if (known?.previous !== undefined) continue;
    candidates.delete(candidate.userName.toLowerCase());
    candidates.set(key, {
      userName: known?.userName ?? holder,
      listed: listedNames.has(key),
      reportRow: known?.reportRow,
      previous: undefined,
      renamed: { from: candidate.userName, finding: candidate.previous as Finding },
    });
  }
  return lookup.holders;
}

interface KeyHolderLookup {
  /** Each key looked up, once, and the user holding it. */
  readonly holders: Map<string, string | undefined>;
  readonly holderOf: (accessKeyId: string) => Promise<string | undefined>;
  readonly warn: (findingId: string | undefined, error: unknown) => void;
}

function keyHolderLookup(deps: SweepDeps): KeyHolderLookup {
  const holders = new Map<string, string | undefined>();
  return {
    holders,
    holderOf: async (accessKeyId) => {
      if (!holders.has(accessKeyId)) holders.set(accessKeyId, await deps.iam.keyOwner(accessKeyId));
      return holders.get(accessKeyId);
    },
    warn: (findingId, error) =>
      // Not knowing where a key went is no reason to stop: the finding is then handled by its recorded name.
      deps.onWarning?.('could not follow the keys of a user missing from the listing', {
        findingId,
        error: error instanceof Error ? error.message : String(error),
      }),
  };
}

/**
 * The user now holding a key the missing candidate's finding recorded, when that is another user. Keys are
 * looked up only when already known (a threat finding's) or when the finding holds KeyWarden's record.
 */
async function renamedTo(lookup: KeyHolderLookup, candidate: Candidate): Promise<string | undefined> {
  const finding = candidate.previous as Finding;
  const record = readRecord(finding);
  const holdsRecord =
    record.deactivated !== undefined || record.pending !== undefined || record.reactivated !== undefined;
  try {
    for (const accessKeyId of recordedKeyIds(finding)) {
      const owner =
        lookup.holders.has(accessKeyId) || holdsRecord ? await lookup.holderOf(accessKeyId) : undefined;
      if (owner !== undefined && owner.toLowerCase() !== candidate.userName.toLowerCase()) return owner;
    }
  } catch (error) {
    lookup.warn(finding.Id, error);
  }
  return undefined;
}
