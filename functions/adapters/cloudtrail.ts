/** CloudTrail: the account's trails, each with its logging status and event selectors, for the blind-path check. */

import {
  type AdvancedEventSelector,
  CloudTrailClient,
  DescribeTrailsCommand,
  type EventSelector,
  GetEventSelectorsCommand,
  GetTrailStatusCommand,
  type Trail,
} from '@aws-sdk/client-cloudtrail';
import type { AdvancedSelector, BasicSelector, Read, TrailObservation } from '../core/trail-health.ts';
import { AwsCallError } from '../shared/errors.ts';
import { CLIENT_SETTINGS, type ClientOptions, errorCode, errorMessage } from './clients.ts';

export interface CloudTrailPort {
  /**
   * Every trail DescribeTrails shows in `region`, shadow trails included (multi-region and organization trails
   * homed elsewhere), each read in its home region. Throws AwsCallError when the listing fails; a failed read of
   * one trail is returned in that trail's `status` or `selectors`.
   */
  observeTrails(region: string): Promise<TrailObservation[]>;
}

/** CloudTrail clients by region, built once each, with the functions' retry and timeout settings. */
export function cloudTrailClients(
  options: Omit<ClientOptions, 'region'> = {},
): (region: string) => CloudTrailClient {
  const clients = new Map<string, CloudTrailClient>();
  return (region) => {
    let client = clients.get(region);
    if (client === undefined) {
      client = new CloudTrailClient({
        ...CLIENT_SETTINGS,
        region,
        ...(options.maxAttempts !== undefined ? { maxAttempts: options.maxAttempts } : {}),
        ...(options.profile !== undefined ? { profile: options.profile } : {}),
      });
      clients.set(region, client);
    }
    return client;
  };
}

function basic(selector: EventSelector): BasicSelector {
  return {
    readWriteType: selector.ReadWriteType,
    includeManagementEvents: selector.IncludeManagementEvents,
    excludeManagementEventSources: selector.ExcludeManagementEventSources,
  };
}

function advanced(selector: AdvancedEventSelector): AdvancedSelector {
  return {
    name: selector.Name,
    fieldSelectors: (selector.FieldSelectors ?? []).map((field) => ({
      field: field.Field ?? '',
      equals: field.Equals,
      notEquals: field.NotEquals,
      startsWith: field.StartsWith,
      notStartsWith: field.NotStartsWith,
      endsWith: field.EndsWith,
      notEndsWith: field.NotEndsWith,
    })),
  };
}

async function read<T>(call: () => Promise<T>): Promise<Read<T>> {
  try {
    return { ok: true, value: await call() };
  } catch (error) {
    return { ok: false, code: errorCode(error), message: errorMessage(error) };
  }
}

/** The home region of a trail: from DescribeTrails, else from its ARN. */
function homeRegionOf(homeRegion: string | undefined, arn: string, fallback: string): string {
  return homeRegion || arn.split(':')[3] || fallback;
}

export function createCloudTrailPort(clientFor: (region: string) => CloudTrailClient): CloudTrailPort {
  return {
    async observeTrails(region) {
      let trails: Trail[];
      try {
        const listing = await clientFor(region).send(
          new DescribeTrailsCommand({ includeShadowTrails: true }),
        );
        trails = listing.trailList ?? [];
      } catch (error) {
        throw new AwsCallError('DescribeTrails', errorCode(error), errorMessage(error), { cause: error });
      }
      return Promise.all(
        trails.map(async (trail): Promise<TrailObservation> => {
          const arn = trail.TrailARN ?? '';
          const homeRegion = homeRegionOf(trail.HomeRegion, arn, region);
          // A trail's home region always answers for it (some emulators find shadow trails only there); the ARN,
          // not the name, is what a member account must pass for an organization trail.
          const client = clientFor(homeRegion);
          const [status, selectors] = await Promise.all([
            read(async () => {
              const output = await client.send(new GetTrailStatusCommand({ Name: arn }));
              return { isLogging: output.IsLogging === true };
            }),
            read(async () => {
              const output = await client.send(new GetEventSelectorsCommand({ TrailName: arn }));
              return {
                basic: (output.EventSelectors ?? []).map(basic),
                advanced: (output.AdvancedEventSelectors ?? []).map(advanced),
              };
            }),
          ]);
          return {
            name: trail.Name ?? arn,
            arn,
            homeRegion,
            isMultiRegion: trail.IsMultiRegionTrail === true,
            isOrganizationTrail: trail.IsOrganizationTrail === true,
            includeGlobalServiceEvents: trail.IncludeGlobalServiceEvents,
            status,
            selectors,
          };
        }),
      );
    },
  };
}
