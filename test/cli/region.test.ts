import { partition } from '@aws-sdk/core/client';
import { RegionInfo } from 'aws-cdk-lib/region-info';
import { describe, expect, it } from 'vitest';
import { isRegionCode, REGION_PATTERNS } from '../../functions/shared/constants.ts';

describe('isRegionCode', () => {
  it('accepts every region aws-cdk-lib knows, in the partition the SDK puts it in', () => {
    // Prepare
    const regions = RegionInfo.regions.map((info) => info.name);

    // Act
    const refused = regions.filter((region) => !isRegionCode(region));
    const elsewhere = regions.filter((region) => !REGION_PATTERNS[partition(region).name]?.test(region));

    // Assess
    expect(regions.length).toBeGreaterThan(30);
    expect(refused).toEqual([]);
    expect(elsewhere).toEqual([]);
  });

  it.each(['mars-1', 'us-east', 'US-EAST-1', 'us-east-1 ', 'cn-north', 'aws-global', ''])(
    'refuses %j',
    (region) => {
      expect(isRegionCode(region)).toBe(false);
    },
  );
});
