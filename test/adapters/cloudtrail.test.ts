import {
  CloudTrailARNInvalidException,
  CloudTrailClient,
  DescribeTrailsCommand,
  GetEventSelectorsCommand,
  GetTrailStatusCommand,
  TrailNotFoundException,
} from '@aws-sdk/client-cloudtrail';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { cloudTrailClients, createCloudTrailPort } from '../../functions/adapters/cloudtrail.ts';
import { AwsCallError } from '../../functions/shared/errors.ts';

const trailMock = mockClient(CloudTrailClient);
const ACCOUNT_ID = '123456789012';
const MANAGEMENT_ACCOUNT = '999988887777';
const LOCAL_ARN = `arn:aws:cloudtrail:us-east-1:${ACCOUNT_ID}:trail/local`;
const SHADOW_ARN = `arn:aws:cloudtrail:eu-west-1:${ACCOUNT_ID}:trail/multi`;
const ORG_ARN = `arn:aws:cloudtrail:us-east-1:${MANAGEMENT_ACCOUNT}:trail/org`;

/** A client per region, remembered so the test can tell which region each call went to. */
function regionalClients() {
  const clients = new Map<string, CloudTrailClient>();
  const clientFor = (region: string) => {
    let client = clients.get(region);
    if (client === undefined) {
      client = new CloudTrailClient({ region, credentials: { accessKeyId: 'a', secretAccessKey: 'b' } });
      clients.set(region, client);
    }
    return client;
  };
  return { clientFor, clients };
}

async function regionOf(call: { thisValue: unknown }): Promise<string> {
  return (call.thisValue as CloudTrailClient).config.region();
}

beforeEach(() => {
  trailMock.reset();
});
afterAll(() => {
  trailMock.restore();
});

describe('createCloudTrailPort', () => {
  it('lists shadow trails too and reads each trail by ARN in its home region', async () => {
    // Prepare
    trailMock.on(DescribeTrailsCommand).resolves({
      trailList: [
        {
          Name: 'local',
          TrailARN: LOCAL_ARN,
          HomeRegion: 'us-east-1',
          IsMultiRegionTrail: false,
          IsOrganizationTrail: false,
          IncludeGlobalServiceEvents: true,
        },
        {
          Name: 'multi',
          TrailARN: SHADOW_ARN,
          HomeRegion: 'eu-west-1',
          IsMultiRegionTrail: true,
          IsOrganizationTrail: false,
        },
      ],
    });
    trailMock.on(GetTrailStatusCommand, { Name: LOCAL_ARN }).resolves({ IsLogging: false });
    trailMock.on(GetTrailStatusCommand, { Name: SHADOW_ARN }).resolves({ IsLogging: true });
    trailMock.on(GetEventSelectorsCommand, { TrailName: LOCAL_ARN }).resolves({
      EventSelectors: [
        { ReadWriteType: 'WriteOnly', IncludeManagementEvents: true, ExcludeManagementEventSources: [] },
      ],
    });
    trailMock.on(GetEventSelectorsCommand, { TrailName: SHADOW_ARN }).resolves({
      AdvancedEventSelectors: [
        {
          Name: 'management',
          FieldSelectors: [
            { Field: 'eventCategory', Equals: ['Management'] },
            { Field: 'eventSource', NotEquals: ['kms.amazonaws.com'] },
          ],
        },
      ],
    });
    const { clientFor } = regionalClients();

    // Act
    const trails = await createCloudTrailPort(clientFor).observeTrails('us-east-1');

    // Assess
    expect(trailMock.commandCalls(DescribeTrailsCommand).map((c) => c.args[0].input)).toEqual([
      { includeShadowTrails: true },
    ]);
    expect(await regionOf(trailMock.commandCalls(DescribeTrailsCommand)[0] as never)).toBe('us-east-1');
    for (const command of [GetTrailStatusCommand, GetEventSelectorsCommand] as const) {
      const calls = trailMock.commandCalls(command as typeof GetTrailStatusCommand);
      const byArn = Object.fromEntries(
        await Promise.all(
          calls.map(async (call) => {
            const input = call.args[0].input as { Name?: string; TrailName?: string };
            return [input.Name ?? input.TrailName, await regionOf(call)];
          }),
        ),
      );
      expect(byArn).toEqual({ [LOCAL_ARN]: 'us-east-1', [SHADOW_ARN]: 'eu-west-1' });
    }
    expect(trails).toEqual([
      {
        name: 'local',
        arn: LOCAL_ARN,
        homeRegion: 'us-east-1',
        isMultiRegion: false,
        isOrganizationTrail: false,
        includeGlobalServiceEvents: true,
        status: { ok: true, value: { isLogging: false } },
        selectors: {
          ok: true,
          value: {
            basic: [
              {
                readWriteType: 'WriteOnly',
                includeManagementEvents: true,
                excludeManagementEventSources: [],
              },
            ],
            advanced: [],
          },
        },
      },
      {
        name: 'multi',
        arn: SHADOW_ARN,
        homeRegion: 'eu-west-1',
        isMultiRegion: true,
        isOrganizationTrail: false,
        includeGlobalServiceEvents: undefined,
        status: { ok: true, value: { isLogging: true } },
        selectors: {
          ok: true,
          value: {
            basic: [],
            advanced: [
              {
                name: 'management',
                fieldSelectors: [
                  expect.objectContaining({ field: 'eventCategory', equals: ['Management'] }),
                  expect.objectContaining({ field: 'eventSource', notEquals: ['kms.amazonaws.com'] }),
                ],
              },
            ],
          },
        },
      },
    ]);
  });

  it("returns a failed read of one trail in that trail, with AWS's code, and reads the others", async () => {
    // Prepare: a member account sees the organization trail but may not read its selectors.
    trailMock.on(DescribeTrailsCommand).resolves({
      trailList: [
        { Name: 'org', TrailARN: ORG_ARN, IsMultiRegionTrail: true, IsOrganizationTrail: true },
        { Name: 'local', TrailARN: LOCAL_ARN, HomeRegion: 'us-east-1' },
      ],
    });
    trailMock.on(GetTrailStatusCommand).resolves({ IsLogging: true });
    trailMock.on(GetEventSelectorsCommand, { TrailName: ORG_ARN }).rejects(
      new CloudTrailARNInvalidException({
        message: `AccountID in ARN is wrong, you can only access resources with AccountID ${ACCOUNT_ID}.`,
        $metadata: {},
      }),
    );
    trailMock
      .on(GetEventSelectorsCommand, { TrailName: LOCAL_ARN })
      .rejects(new TrailNotFoundException({ message: 'Unknown trail', $metadata: {} }));

    // Act
    const [org, local] = await createCloudTrailPort(regionalClients().clientFor).observeTrails('us-east-1');

    // Assess: without HomeRegion the ARN's region is the home region.
    expect(org).toMatchObject({
      homeRegion: 'us-east-1',
      status: { ok: true, value: { isLogging: true } },
      selectors: { ok: false, code: 'CloudTrailARNInvalidException' },
    });
    expect(local).toMatchObject({ selectors: { ok: false, code: 'TrailNotFoundException' } });
  });

  it('returns no trail when the account has none', async () => {
    trailMock.on(DescribeTrailsCommand).resolves({ trailList: [] });
    expect(await createCloudTrailPort(regionalClients().clientFor).observeTrails('us-east-1')).toEqual([]);
    expect(trailMock.commandCalls(GetTrailStatusCommand)).toHaveLength(0);
  });

  it('throws AwsCallError naming DescribeTrails when the listing fails', async () => {
    const denied = Object.assign(new Error('User is not authorized to perform: cloudtrail:DescribeTrails'), {
      name: 'AccessDeniedException',
    });
    trailMock.on(DescribeTrailsCommand).rejects(denied);
    const listing = createCloudTrailPort(regionalClients().clientFor).observeTrails('us-east-1');
    await expect(listing).rejects.toBeInstanceOf(AwsCallError);
    await expect(listing).rejects.toMatchObject({
      operation: 'DescribeTrails',
      code: 'AccessDeniedException',
    });
  });
});

describe('cloudTrailClients', () => {
  it('builds one client per region, with the functions’ retry settings', async () => {
    const clientFor = cloudTrailClients({ maxAttempts: 2 });
    const east = clientFor('us-east-1');
    expect(clientFor('us-east-1')).toBe(east);
    const west = clientFor('eu-west-1');
    expect(west).not.toBe(east);
    expect(await west.config.region()).toBe('eu-west-1');
    expect(await west.config.maxAttempts()).toBe(2);
  });
});
