/**
 * KeyWarden as a construct library: `import { AccessKeyDetector } from 'keywarden'`.
 *
 * - {@link AccessKeyDetector}: the detector, the sweep, their queues and alarms, for one account.
 * - {@link KeyWardenStack}: a stack around it that places it where IAM events arrive (with a forwarder stack).
 * - {@link IamEventForwarderStack}: forwards IAM's us-east-1 events to another region.
 * - {@link KeyWardenDashboard}: a CloudWatch dashboard of a detector's metrics, queues and alarms.
 */

export {
  type KeepKeyStrategy,
  METRIC_NAMES,
  METRICS_NAMESPACE,
  type MetricName,
  type RemediationMode,
  type SweepSource,
} from '../functions/shared/constants.ts';
export {
  AccessKeyDetector,
  type AccessKeyDetectorProps,
  DEFAULT_LOG_RETENTION,
  DEFAULT_SWEEP_SCHEDULE,
  type KeyWardenMetricOptions,
} from './access-key-detector.ts';
export { DEFAULT_DASHBOARD_PERIOD, KeyWardenDashboard, type KeyWardenDashboardProps } from './dashboard.ts';
export { keyEventPattern } from './event-pattern.ts';
export { IamEventForwarderStack, type IamEventForwarderStackProps } from './iam-event-forwarder-stack.ts';
export { KeyWardenStack, type KeyWardenStackProps } from './keywarden-stack.ts';
export { AlarmedDeadLetterQueue, type AlarmedDeadLetterQueueProps } from './monitoring.ts';
export type { OrganizationAccess } from './permissions.ts';
