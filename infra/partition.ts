import { Aws, CfnMapping, CfnRule, Fn, type Stack, Token } from 'aws-cdk-lib';
import { RegionInfo } from 'aws-cdk-lib/region-info';
import type { Construct } from 'constructs';
import { IAM_EVENT_REGIONS, iamEventRegionFor } from '../functions/shared/constants.ts';

/** Where a stack stands relative to the region where its partition's IAM events arrive. */
export type IamEventPlacement =
  /** Region unknown at synth: the template carries a rule that refuses any region but an IAM event region. */
  | { readonly kind: 'unknown' }
  /** A partition whose IAM event region KeyWarden does not know (e.g. aws-iso). */
  | { readonly kind: 'unknown-partition'; readonly partition: string }
  /** Known partition; `iamRegion` may or may not be the stack's own region. */
  | { readonly kind: 'known'; readonly partition: string; readonly iamRegion: string };

/** The partition of a region code (aws-cdk-lib's region table; `aws` for a region it does not place). */
export function partitionOf(region: string): string {
  return RegionInfo.get(region).partition ?? 'aws';
}

/** Where `stack`'s region stands: the partition is always taken from the region, never assumed to be `aws`. */
export function iamEventPlacement(stack: Stack): IamEventPlacement {
  if (Token.isUnresolved(stack.region)) return { kind: 'unknown' };
  const partition = partitionOf(stack.region);
  const iamRegion = iamEventRegionFor(partition);
  return iamRegion === undefined
    ? { kind: 'unknown-partition', partition }
    : { kind: 'known', partition, iamRegion };
}

/** Every region where IAM events arrive, one per partition, in a stable order. */
export function iamEventRegions(): string[] {
  return Object.values(IAM_EVENT_REGIONS);
}

/**
 * A CloudFormation rule that refuses, at deployment, any region but an IAM event region (us-east-1, us-gov-west-1,
 * cn-north-1). Each region belongs to one partition, so this admits exactly the deploying partition's own.
 */
export function addIamEventRegionRule(scope: Construct, id: string, description: string): CfnRule {
  return new CfnRule(scope, id, {
    assertions: [
      {
        assert: Fn.conditionContains(iamEventRegions(), Aws.REGION),
        assertDescription: description,
      },
    ],
  });
}

/**
 * The IAM event region of the stack's partition: a literal when the region is known at synth, else a lookup of
 * `AWS::Partition` in a mapping of {@link IAM_EVENT_REGIONS}. Undefined for a partition KeyWarden does not know.
 */
export function iamEventRegionToken(stack: Stack): string | undefined {
  const placement = iamEventPlacement(stack);
  if (placement.kind === 'known') return placement.iamRegion;
  if (placement.kind === 'unknown-partition') return undefined;
  const id = 'KeyWardenIamEventRegions';
  const existing = stack.node.tryFindChild(id);
  const mapping =
    existing instanceof CfnMapping
      ? existing
      : new CfnMapping(stack, id, {
          mapping: Object.fromEntries(
            Object.entries(IAM_EVENT_REGIONS).map(([partition, region]) => [partition, { region }]),
          ),
        });
  return mapping.findInMap(Aws.PARTITION, 'region');
}
