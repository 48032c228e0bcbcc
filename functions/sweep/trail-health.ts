/**
 * The blind-path check each sweep runs: reads the account's trails, decides whether one delivers IAM's management
 * write events where they reach EventBridge, and imports the account's health finding.
 */

import type { CloudTrailPort } from '../adapters/cloudtrail.ts';
import type { FindingsPort } from '../adapters/securityhub.ts';
import type { Finding } from '../core/finding.ts';
import { productArnFor } from '../core/finding.ts';
import {
  buildTrailHealthFinding,
  evaluateTrailHealth,
  type TrailHealth,
  trailHealthFindingId,
} from '../core/trail-health.ts';
import type { AccountContext } from '../core/types.ts';
import { iamEventRegionFor } from '../shared/constants.ts';
import { KeyWardenError } from '../shared/errors.ts';

/** The trails could not be read well enough to say whether KeyWarden is blind; no finding was written. */
export class TrailHealthError extends KeyWardenError {}

export interface TrailHealthDeps {
  readonly cloudTrail: CloudTrailPort;
  readonly findings: FindingsPort;
  readonly clock: () => Date;
}

export interface TrailHealthResult {
  readonly health: TrailHealth;
  readonly finding: Finding;
}

/** Checks the account's trails and imports the health finding; throws TrailHealthError or AwsCallError. */
export async function checkTrailHealth(
  deps: TrailHealthDeps,
  account: AccountContext,
): Promise<TrailHealthResult> {
  const iamEventRegion = iamEventRegionFor(account.partition);
  const observedAt = deps.clock();
  const trails = await deps.cloudTrail.observeTrails(iamEventRegion ?? account.region);
  const health = evaluateTrailHealth(trails, account.accountId, iamEventRegion);
  if (health.status === 'unknown') {
    const unreadable = health.assessments.flatMap((a) =>
      a.verdict === 'unreadable' ? [`${a.trail.arn} (${a.reason})`] : [],
    );
    throw new TrailHealthError(
      `could not tell whether a trail delivers IAM events: no trail is known to, and ${unreadable.join(', ')} could not be read`,
    );
  }
  const id = trailHealthFindingId(account.accountId);
  const previous = await deps.findings.getFinding(productArnFor(account), id);
  const createdAt = previous?.CreatedAt ? new Date(previous.CreatedAt) : undefined;
  const finding = buildTrailHealthFinding({
    account,
    health: health as TrailHealth & { status: 'covered' | 'blind' | 'unverified' },
    observedAt,
    createdAt: createdAt && !Number.isNaN(createdAt.getTime()) ? createdAt : undefined,
  });
  await deps.findings.importFindings([finding]);
  return { health, finding };
}
