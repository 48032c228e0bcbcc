/**
 * KeyWarden as a construct library: `import { AccessKeyDetector } from 'keywarden'`.
 *
 * - {@link AccessKeyDetector}: the detector, the sweep, their queues and alarms, for one account.
 * - {@link KeyWardenStack}: a stack around it that places it where IAM events arrive (with a forwarder stack).
 * - {@link IamEventForwarderStack}: forwards IAM's events from their region (us-east-1 in `aws`) to another region.
 * - {@link KeyWardenDashboard}: a CloudWatch dashboard of a detector's metrics, queues and alarms.
 *
 * Organization mode (one central detector for every account of an AWS Organization):
 * - {@link KeyWardenCentralStack}: the detector in organization mode, the {@link OrganizationEventBus} the members
 *   forward to, and the {@link MemberStackSet} that deploys the member stack to the OUs.
 * - {@link KeyWardenMember} / {@link KeyWardenMemberStack}: per member account, no Lambda and no asset: the
 *   forwarding rule and the member role the central functions assume.
 * - {@link KeyWardenManagementStack}: the management account's read-only role that lists the member accounts.
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
export {
  DEFAULT_ORGANIZATION_BUS_NAME,
  KeyWardenCentralStack,
  type KeyWardenCentralStackProps,
  type KeyWardenOrganizationSettings,
  OrganizationEventBus,
  type OrganizationEventBusProps,
} from './central-stack.ts';
export { DEFAULT_DASHBOARD_PERIOD, KeyWardenDashboard, type KeyWardenDashboardProps } from './dashboard.ts';
export { keyEventPattern } from './event-pattern.ts';
export { IamEventForwarderStack, type IamEventForwarderStackProps } from './iam-event-forwarder-stack.ts';
export { KeyWardenStack, type KeyWardenStackProps } from './keywarden-stack.ts';
export { KeyWardenManagementStack, type KeyWardenManagementStackProps } from './management-stack.ts';
export {
  KeyWardenMember,
  type KeyWardenMemberProps,
  KeyWardenMemberStack,
  type KeyWardenMemberStackProps,
  MEMBER_STACK_PARAMETERS,
  type MemberRestoreAccess,
} from './member-stack.ts';
export {
  MAX_TEMPLATE_BODY_BYTES,
  MemberStackSet,
  type MemberStackSetProps,
  type StackSetCaller,
  synthesizeMemberTemplate,
} from './member-stack-set.ts';
export { AlarmedDeadLetterQueue, type AlarmedDeadLetterQueueProps } from './monitoring.ts';
export { DEFAULT_ORGANIZATION_READER_ROLE_NAME } from './organization-settings.ts';
export type { OrganizationAccess } from './permissions.ts';
