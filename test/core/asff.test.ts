import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { asffProblems, assertValidBatch, MAX_FINDINGS_PER_BATCH } from '../../functions/core/asff.ts';
import { evaluateUser } from '../../functions/core/evaluate.ts';
import { buildFinding, type Finding } from '../../functions/core/finding.ts';
import { AsffValidationError } from '../../functions/shared/errors.ts';
import { ACCOUNT, EVENT_TRIGGER, NEW_KEY, NOW, OLD_KEY, POLICY, snapshot } from './builders.ts';

const ACCOUNT_ID = ACCOUNT.accountId;

function validFinding(userName = 'alice'): Finding {
  const evaluation = evaluateUser(userName, snapshot([OLD_KEY, NEW_KEY], { userName }), POLICY, NOW);
  if (evaluation.verdict === 'user-gone') throw new Error('unexpected');
  return buildFinding({
    account: ACCOUNT,
    evaluation,
    action: { kind: 'none' },
    trigger: EVENT_TRIGGER,
    updatedAt: new Date('2026-06-01T12:00:01.000Z'),
  });
}

const VALID = validFinding();
/** The finding with `change` applied; `undefined` values delete the field. */
function mutate(change: Record<string, unknown>): Finding {
  const copy = structuredClone(VALID) as unknown as Record<string, unknown>;
  for (const [field, value] of Object.entries(change)) {
    if (value === undefined) delete copy[field];
    else copy[field] = value;
  }
  return copy as unknown as Finding;
}

const resources = VALID.Resources ?? [];
const fields = VALID.ProductFields ?? {};

describe('asffProblems', () => {
  it('finds nothing wrong with a built finding', () => {
    expect(asffProblems(VALID, ACCOUNT_ID, 'aws')).toEqual([]);
  });

  it('finds nothing wrong with the example finding from the Security Hub documentation', () => {
    const [example] = JSON.parse(
      readFileSync(new URL('../fixtures/asff-example.json', import.meta.url), 'utf8'),
    ) as Finding[];
    expect(asffProblems(example as Finding, '123456789012', 'aws')).toEqual([]);
  });

  // Each invalid finding is the valid one with one thing broken; the problem names what.
  it.each([
    {
      case: 'no SchemaVersion',
      change: { SchemaVersion: undefined },
      problem: 'SchemaVersion must be 2018-10-08',
    },
    {
      case: 'another SchemaVersion',
      change: { SchemaVersion: '2020-01-01' },
      problem: 'SchemaVersion must be 2018-10-08',
    },
    { case: 'no Id', change: { Id: undefined }, problem: 'Id is required' },
    { case: 'an empty Id', change: { Id: '' }, problem: 'Id must not be empty' },
    {
      case: 'an Id of 513 characters',
      change: { Id: 'i'.repeat(513) },
      problem: 'Id is 513 characters, more than 512',
    },
    { case: 'no GeneratorId', change: { GeneratorId: undefined }, problem: 'GeneratorId is required' },
    { case: 'no Title', change: { Title: undefined }, problem: 'Title is required' },
    {
      case: 'a Title of 257 characters',
      change: { Title: 't'.repeat(257) },
      problem: 'Title is 257 characters, more than 256',
    },
    { case: 'a Title that is not a string', change: { Title: 42 }, problem: 'Title must be a string' },
    { case: 'no Description', change: { Description: undefined }, problem: 'Description is required' },
    {
      case: 'a Description of 1025 characters',
      change: { Description: 'd'.repeat(1025) },
      problem: 'Description is 1025 characters, more than 1024',
    },
    {
      case: 'another AwsAccountId',
      change: { AwsAccountId: '210987654321' },
      problem: 'AwsAccountId must be the calling account',
    },
    {
      case: 'no AwsAccountId',
      change: { AwsAccountId: undefined },
      problem: 'AwsAccountId must be the calling account',
    },
    {
      case: 'a ProductArn of another account',
      change: { ProductArn: 'arn:aws:securityhub:us-east-1:210987654321:product/210987654321/default' },
      problem: 'ProductArn must name account 123456789012',
    },
    {
      case: 'a ProductArn of another account in the product part',
      change: { ProductArn: 'arn:aws:securityhub:us-east-1:123456789012:product/210987654321/default' },
      problem: 'ProductArn must name account 123456789012',
    },
    {
      case: 'a ProductArn of another partition',
      change: { ProductArn: 'arn:aws-cn:securityhub:us-east-1:123456789012:product/123456789012/default' },
      problem: 'ProductArn must be in partition aws, got aws-cn',
    },
    {
      case: 'a ProductArn of a vendor product',
      change: { ProductArn: 'arn:aws:securityhub:us-east-1::product/aws/guardduty' },
      problem: 'ProductArn must be arn:<partition>:securityhub',
    },
    { case: 'no ProductArn', change: { ProductArn: undefined }, problem: 'ProductArn must be' },
    { case: 'no CreatedAt', change: { CreatedAt: undefined }, problem: 'CreatedAt is required' },
    {
      case: 'a CreatedAt that is not ISO 8601',
      change: { CreatedAt: 'Jul 30, 2024 9:53:13 PM' },
      problem: 'CreatedAt must be an ISO 8601 timestamp',
    },
    {
      case: 'an UpdatedAt without a time zone',
      change: { UpdatedAt: '2026-06-01T12:00:01' },
      problem: 'UpdatedAt must be an ISO 8601 timestamp',
    },
    {
      case: 'an UpdatedAt before CreatedAt',
      change: { UpdatedAt: '2020-01-01T00:00:00.000Z' },
      problem: 'UpdatedAt must not be before CreatedAt',
    },
    {
      case: 'a LastObservedAt that is not a date',
      change: { LastObservedAt: 'yesterday' },
      problem: 'LastObservedAt must be an ISO 8601 timestamp',
    },
    {
      case: 'a bad severity label',
      change: { Severity: { Label: 'SEVERE' } },
      problem: 'Severity.Label must be one of INFORMATIONAL|LOW|MEDIUM|HIGH|CRITICAL, got "SEVERE"',
    },
    {
      case: 'a severity without a label',
      change: { Severity: { Original: '5' } },
      problem: 'Severity.Label is required',
    },
    {
      case: 'a null severity',
      change: { Severity: null },
      problem: 'Severity must be an object with a Label',
    },
    {
      case: 'no severity anywhere',
      change: { Severity: undefined, FindingProviderFields: undefined },
      problem: 'Severity is required',
    },
    {
      case: 'a bad provider severity label',
      change: { FindingProviderFields: { Severity: { Label: 'low' }, Types: VALID.Types } },
      problem: 'FindingProviderFields.Severity.Label must be one of',
    },
    {
      case: 'a type outside the ASFF namespaces',
      change: { Types: ['Security/Keys/Two'] },
      problem: 'Types entry "Security/Keys/Two" must be namespace/category/classifier',
    },
    {
      case: 'a type with four parts',
      change: { Types: ['Software and Configuration Checks/a/b/c'] },
      problem: 'must be namespace/category/classifier',
    },
    { case: 'an empty type list', change: { Types: [] }, problem: 'Types must be a list of 1 to 50 types' },
    {
      case: 'no types anywhere',
      change: { Types: undefined, FindingProviderFields: undefined },
      problem: 'Types is required',
    },
    { case: 'no resources', change: { Resources: [] }, problem: 'Resources must hold 1 to 32 resources' },
    {
      case: 'a missing Resources',
      change: { Resources: undefined },
      problem: 'Resources must hold 1 to 32 resources',
    },
    {
      case: '33 resources',
      change: { Resources: Array.from({ length: 33 }, (_, i) => ({ Type: 'Other', Id: `r${i}` })) },
      problem: 'Resources must hold 1 to 32 resources',
    },
    {
      case: 'a resource without a Type',
      change: { Resources: [{ Id: 'arn:aws:iam::123456789012:user/alice' }] },
      problem: 'Resources[0].Type is required',
    },
    {
      case: 'a resource without an Id',
      change: { Resources: [{ Type: 'AwsIamUser' }] },
      problem: 'Resources[0].Id is required',
    },
    { case: 'a null resource', change: { Resources: [null] }, problem: 'Resources[0].Type is required' },
    {
      case: 'a resource in another partition than the product',
      change: { Resources: [{ ...resources[0], Partition: 'aws-cn' }] },
      problem: 'Resources[0].Partition aws-cn differs',
    },
    {
      case: 'an access key status outside ASFF',
      change: {
        Resources: [
          resources[0],
          {
            ...resources[1],
            Details: { AwsIamAccessKey: { ...resources[1]?.Details?.AwsIamAccessKey, Status: 'Expired' } },
          },
        ],
      },
      problem: 'Resources[1].Details.AwsIamAccessKey.Status must be one of Active|Inactive',
    },
    {
      case: 'a bad compliance status',
      change: { Compliance: { Status: 'COMPLIANT' } },
      problem: 'Compliance.Status must be one of PASSED|WARNING|FAILED|NOT_AVAILABLE',
    },
    {
      case: '33 related requirements',
      change: {
        Compliance: { Status: 'FAILED', RelatedRequirements: Array.from({ length: 33 }, (_, i) => `r${i}`) },
      },
      problem: 'Compliance.RelatedRequirements must hold at most 32 non-empty strings',
    },
    {
      case: 'related requirements that are not a list',
      change: { Compliance: { Status: 'FAILED', RelatedRequirements: 'CIS 1.13' } },
      problem: 'Compliance.RelatedRequirements must hold at most 32 non-empty strings',
    },
    {
      case: 'a status reason without a code',
      change: { Compliance: { Status: 'FAILED', StatusReasons: [{ Description: 'x' }] } },
      problem: 'Compliance.StatusReasons[0].ReasonCode is required',
    },
    {
      case: 'a bad record state',
      change: { RecordState: 'DELETED' },
      problem: 'RecordState must be one of ACTIVE|ARCHIVED',
    },
    {
      case: 'a product field key starting with aws/',
      change: { ProductFields: { ...fields, 'aws/securityhub/FindingId': 'x' } },
      problem: 'ProductFields key "aws/securityhub/FindingId" must not start with aws/',
    },
    {
      case: 'a product field key of 129 characters',
      change: { ProductFields: { ['k'.repeat(129)]: 'v' } },
      problem: 'must be 1 to 128 characters',
    },
    {
      case: 'an empty product field value',
      change: { ProductFields: { 'keywarden/detector/x': '' } },
      problem: 'ProductFields value of "keywarden/detector/x" must be 1 to 2048 characters',
    },
    {
      case: 'a product field value of 2049 characters',
      change: { ProductFields: { 'keywarden/detector/x': 'v'.repeat(2049) } },
      problem: 'must be 1 to 2048 characters',
    },
    {
      case: '51 product fields',
      change: { ProductFields: Object.fromEntries(Array.from({ length: 51 }, (_, i) => [`k/${i}`, 'v'])) },
      problem: 'ProductFields holds 51 pairs, more than 50',
    },
    {
      case: 'a recommendation of 513 characters',
      change: { Remediation: { Recommendation: { Text: 'r'.repeat(513) } } },
      problem: 'Remediation.Recommendation.Text is 513 characters, more than 512',
    },
    {
      case: 'a recommendation URL over http',
      change: { Remediation: { Recommendation: { Text: 'x', Url: 'http://example.com' } } },
      problem: 'Remediation.Recommendation.Url must be an https URL',
    },
    {
      case: 'Workflow set',
      change: { Workflow: { Status: 'NEW' } },
      problem: 'Workflow belongs to the customer',
    },
    {
      case: 'a Note set',
      change: { Note: { Text: 'x', UpdatedBy: 'y', UpdatedAt: VALID.UpdatedAt } },
      problem: 'Note belongs to the customer',
    },
    {
      case: 'UserDefinedFields set',
      change: { UserDefinedFields: { a: 'b' } },
      problem: 'UserDefinedFields belongs',
    },
    {
      case: 'VerificationState set',
      change: { VerificationState: 'TRUE_POSITIVE' },
      problem: 'VerificationState belongs',
    },
    {
      case: 'a finding over 240 KB',
      change: {
        Resources: Array.from({ length: 32 }, (_, i) => ({
          Type: 'Other',
          Id: `r${i}`,
          Details: { Other: { x: 'y'.repeat(8000) } },
        })),
      },
      problem: 'more than 240 KB',
    },
  ])('reports $case', ({ change, problem }) => {
    const problems = asffProblems(mutate(change), ACCOUNT_ID, 'aws');
    expect(problems.join('\n')).toContain(problem);
  });

  it('accepts a product ARN of another partition when that is the partition it runs in', () => {
    const finding = mutate({
      ProductArn: 'arn:aws-cn:securityhub:cn-north-1:123456789012:product/123456789012/default',
    });
    finding.Resources = finding.Resources?.map((r) => ({ ...r, Partition: 'aws-cn' }));
    expect(asffProblems(finding, ACCOUNT_ID, 'aws-cn')).toEqual([]);
    expect(asffProblems(finding, ACCOUNT_ID, 'aws')).toEqual([
      'ProductArn must be in partition aws, got aws-cn',
    ]);
  });

  it('reports every problem at once, not only the first', () => {
    const problems = asffProblems(
      mutate({ Title: undefined, Description: undefined, RecordState: 'x' }),
      ACCOUNT_ID,
    );
    expect(problems).toHaveLength(3);
  });

  it('does not throw on a finding of the wrong shape', () => {
    for (const bad of [
      {},
      { Compliance: { StatusReasons: 'x' } },
      { Resources: 'x' },
      { Severity: 'HIGH' },
    ]) {
      expect(asffProblems(bad as Finding, ACCOUNT_ID).length).toBeGreaterThan(0);
    }
  });
});

describe('assertValidBatch', () => {
  const batch = (size: number): Finding[] => Array.from({ length: size }, (_, i) => validFinding(`user${i}`));

  it('accepts 100 valid findings', () => {
    expect(() => assertValidBatch(batch(MAX_FINDINGS_PER_BATCH), ACCOUNT_ID, 'aws')).not.toThrow();
  });

  it('rejects 101 findings in one call', () => {
    expect(() => assertValidBatch(batch(MAX_FINDINGS_PER_BATCH + 1), ACCOUNT_ID)).toThrow(
      '101 findings, more than 100 in one call',
    );
  });

  it('rejects a batch over 6 MB', () => {
    const big = (i: number) =>
      mutate({
        Id: `big-${i}`,
        ProductFields: Object.fromEntries(Array.from({ length: 40 }, (_, k) => [`k/${k}`, 'v'.repeat(2048)])),
      });
    const findings = Array.from({ length: 80 }, (_, i) => big(i));
    expect(() => assertValidBatch(findings, ACCOUNT_ID)).toThrow('more than 6 MB in one call');
  });

  it.each([1, 3])('reports the size of the JSON sent for a batch of %i over 6 MB', (count) => {
    const findings = batch(count).map((finding) => ({
      ...finding,
      ProductFields: { ...finding.ProductFields, padding: 'v'.repeat(Math.ceil((6 * 1024 * 1024) / count)) },
    }));

    expect(() => assertValidBatch(findings, ACCOUNT_ID, 'aws')).toThrow(
      `${Buffer.byteLength(JSON.stringify(findings))} bytes, more than 6 MB in one call`,
    );
  });

  it('names the first invalid finding and its problems', () => {
    const findings = [validFinding('ok'), mutate({ Id: 'broken', Title: 't'.repeat(300) })];
    let thrown: unknown;
    try {
      assertValidBatch(findings, ACCOUNT_ID, 'aws');
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(AsffValidationError);
    expect((thrown as AsffValidationError).findingId).toBe('broken');
    expect((thrown as AsffValidationError).problems).toEqual(['Title is 300 characters, more than 256']);
    expect((thrown as Error).message).toBe(
      'finding broken is not valid ASFF: Title is 300 characters, more than 256',
    );
  });

  it('rejects a finding for another account', () => {
    expect(() => assertValidBatch([VALID], '210987654321')).toThrow(AsffValidationError);
  });
});

describe('asffProblems on Action', () => {
  const call = (change: Record<string, unknown>) =>
    mutate({
      Action: {
        ActionType: 'AWS_API_CALL',
        AwsApiCallAction: { Api: 'CreateAccessKey', ServiceName: 'iam.amazonaws.com', ...change },
      },
    });

  // Each accepted Action beside the twin with one thing broken.
  it.each([
    {
      case: 'a remote IPv4 address',
      change: { CallerType: 'remoteip', RemoteIpDetails: { IpAddressV4: '203.0.113.7' } },
      problem: undefined,
    },
    {
      case: 'an address that is not IPv4',
      change: { CallerType: 'remoteip', RemoteIpDetails: { IpAddressV4: '2001:db8::1' } },
      problem: 'IpAddressV4 "2001:db8::1" is not an IPv4 address',
    },
    {
      case: 'a caller domain',
      change: { CallerType: 'domain', DomainDetails: { Domain: 'cloudformation.amazonaws.com' } },
      problem: undefined,
    },
    {
      case: 'an unknown caller type',
      change: { CallerType: 'Remote IP' },
      problem: 'Action.AwsApiCallAction.CallerType must be one of remoteip|domain',
    },
    {
      case: 'ISO first and last seen times',
      change: { FirstSeen: '2026-06-01T11:59:58Z', LastSeen: '2026-06-01T11:59:58Z' },
      problem: undefined,
    },
    {
      case: 'a CloudTrail display date',
      change: { FirstSeen: 'Jul 30, 2024 9:53:13 PM' },
      problem: 'Action.AwsApiCallAction.FirstSeen must be an ISO 8601 timestamp',
    },
    { case: 'an Api of 128 characters', change: { Api: 'a'.repeat(128) }, problem: undefined },
    {
      case: 'an Api of 129 characters',
      change: { Api: 'a'.repeat(129) },
      problem: 'Action.AwsApiCallAction.Api is 129 characters, more than 128',
    },
  ])('checks $case', ({ change, problem }) => {
    const problems = asffProblems(call(change), ACCOUNT_ID, 'aws');
    if (problem === undefined) expect(problems).toEqual([]);
    else expect(problems.join('\n')).toContain(problem);
  });

  it('rejects an action type ASFF does not know', () => {
    expect(
      asffProblems(mutate({ Action: { ActionType: 'API_CALL' } }), ACCOUNT_ID, 'aws').join('\n'),
    ).toContain('Action.ActionType must be one of NETWORK_CONNECTION|AWS_API_CALL|DNS_REQUEST|PORT_PROBE');
  });
});
