import type * as events from 'aws-cdk-lib/aws-events';
import { KEY_EVENT_PATTERN } from '../functions/shared/constants.ts';

/** {@link KEY_EVENT_PATTERN} in the shape CDK takes (the pattern itself is defined once, in functions/shared). */
export function keyEventPattern(): events.EventPattern {
  return {
    source: [...KEY_EVENT_PATTERN.source],
    detailType: [...KEY_EVENT_PATTERN['detail-type']],
    detail: KEY_EVENT_PATTERN.detail,
  };
}
