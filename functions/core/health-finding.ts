/**
 * The one shape of KeyWarden's health findings (is a trail delivering, is an account's forwarding covered): a
 * compliance verdict about an account, kept in place across sweeps. Pure.
 */

import type { Resource } from '@aws-sdk/client-securityhub';
import { type Finding, productArnFor } from './finding.ts';
import type { AccountContext } from './types.ts';

/** Cuts a text to ASFF's length for its field, marking the cut. */
export function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

export interface HealthFindingInput {
  readonly id: string;
  readonly generatorId: string;
  /** The account whose hub takes the finding: Security Hub takes a custom finding only from the account it names. */
  readonly hub: AccountContext;
  readonly type: string;
  readonly status: 'PASSED' | 'WARNING' | 'FAILED';
  readonly label: 'INFORMATIONAL' | 'LOW' | 'HIGH';
  readonly reasonCode: string;
  /** The status reason's description: what was seen. */
  readonly summary: string;
  readonly title: string;
  readonly description: string;
  readonly recommendation: string;
  readonly url: string;
  readonly fields: Readonly<Record<string, string>>;
  readonly resources: Resource[];
  /** When the state was read. */
  readonly observedAt: Date;
  /** The stored finding's CreatedAt, kept across updates (never after observedAt). */
  readonly createdAt?: Date | undefined;
}

export function buildHealthFinding(input: HealthFindingInput): Finding {
  const { hub, observedAt } = input;
  const severity = { Label: input.label, Original: input.label };
  const types = [input.type];
  const createdAt =
    input.createdAt && input.createdAt.getTime() <= observedAt.getTime() ? input.createdAt : observedAt;
  return {
    SchemaVersion: '2018-10-08',
    Id: input.id,
    ProductArn: productArnFor(hub),
    ProductName: 'KeyWarden',
    CompanyName: 'KeyWarden',
    GeneratorId: input.generatorId,
    AwsAccountId: hub.accountId,
    Region: hub.region,
    Types: types,
    CreatedAt: createdAt.toISOString(),
    UpdatedAt: observedAt.toISOString(),
    LastObservedAt: observedAt.toISOString(),
    Severity: severity,
    FindingProviderFields: { Severity: severity, Types: types },
    Title: truncate(input.title, 256),
    Description: truncate(input.description, 1024),
    Remediation: { Recommendation: { Text: truncate(input.recommendation, 512), Url: input.url } },
    ProductFields: Object.fromEntries(
      Object.entries(input.fields).map(([key, value]) => [key, truncate(value, 2048)]),
    ),
    Resources: input.resources,
    Compliance: {
      Status: input.status,
      StatusReasons: [{ ReasonCode: input.reasonCode, Description: truncate(input.summary, 2048) }],
    },
    RecordState: 'ACTIVE',
  };
}
