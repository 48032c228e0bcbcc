/** Domain types shared by the evaluation core, the adapters and the entry points. */

import type { AwsSecurityFinding } from '@aws-sdk/client-securityhub';
import type { WatchedEventName } from '../shared/constants.ts';

/** A Security Hub finding in ASFF, as KeyWarden writes and reads it. */
export type Finding = AwsSecurityFinding;

/** The account and partition the function runs in, and the region findings go to. */
export interface AccountContext {
  readonly accountId: string;
  readonly partition: string;
  readonly region: string;
}

export interface KeyLastUsed {
  /** Undefined when the key was never used. */
  readonly date: Date | undefined;
  readonly serviceName: string | undefined;
  readonly region: string | undefined;
}

export interface AccessKey {
  readonly accessKeyId: string;
  /** `Active`, `Inactive` or `Expired`; only `Active` counts. */
  readonly status: string;
  readonly createDate: Date;
  /** Read only for active keys of a violating user. */
  readonly lastUsed?: KeyLastUsed;
}

export interface IamUser {
  readonly userName: string;
  readonly userId: string;
  readonly arn: string;
  readonly path: string;
  readonly createDate: Date;
  readonly tags: Readonly<Record<string, string>>;
}

/** What IAM said about one user at one moment. */
export interface UserSnapshot {
  readonly user: IamUser;
  readonly keys: readonly AccessKey[];
}

/** A CloudTrail event that caused an evaluation. */
export interface EventTrigger {
  readonly kind: 'event';
  readonly eventName: WatchedEventName;
  readonly eventId: string;
  readonly eventTime: string;
  /** The caller's ARN (`userIdentity.arn`): for a role session `arn:…:sts::…:assumed-role/<role>/<session>`. */
  readonly actorArn: string;
  readonly actorType: string;
  /** The role behind a role session (`sessionContext.sessionIssuer.arn`); '' when the caller is no session. */
  readonly actorIssuerArn: string;
  /** The calling IAM user's name (`userIdentity.userName` of an IAMUser); '' for any other caller. */
  readonly actorUserName: string;
  readonly actorAccountId: string;
  /** `sessionContext.attributes.mfaAuthenticated`; undefined when the record does not say. */
  readonly actorMfa: boolean | undefined;
  readonly sourceIp: string;
  readonly userAgent: string;
  readonly accessKeyId: string | undefined;
  /** TagUser / UntagUser: the tag keys the call set or removed. */
  readonly tagKeys?: readonly string[];
  /** TagUser: the values it set, by tag key. */
  readonly tagValues?: Readonly<Record<string, string>>;
  /** UpdateUser: the user's name before the rename (the target is the new name). */
  readonly renamedFrom?: string;
}

/** What caused an evaluation: a CloudTrail event, or a sweep (which keeps the last event a finding recorded). */
export type Trigger =
  | EventTrigger
  | {
      readonly kind: 'sweep';
      readonly origin: 'schedule' | 'cli';
      /** The last event the stored finding recorded, kept so a sweep's re-import does not erase it. */
      readonly lastEvent?: EventTrigger | undefined;
    };

/** What the event says IAM should now show, used to wait out IAM's eventual consistency. */
export interface Expectation {
  readonly accessKeyId: string;
  /** `present`: listed with any status (a created key someone may already have switched off). */
  readonly state: 'present' | 'Active' | 'Inactive' | 'absent';
}

export const isActive = (key: AccessKey): boolean => key.status === 'Active';

/** Who set the exemption tag to its current value, as proven by a CloudTrail record of the TagUser call. */
export interface ExemptionSetting {
  /** The caller's ARN (`userIdentity.arn`). */
  readonly setterArn: string;
  /** The role behind a role session (`sessionContext.sessionIssuer.arn`); '' otherwise. */
  readonly setterIssuerArn: string;
  readonly setterType: string;
  readonly setAt: Date;
  /** The value the call set. */
  readonly value: string;
  readonly eventId: string;
  /** `event`: the TagUser event being handled; `cloudtrail`: read back with LookupEvents. */
  readonly source: 'event' | 'cloudtrail';
}

/** What CloudTrail proves about who set the exemption tag (read only when exemption approvers are configured). */
export type ExemptionEvidence =
  | { readonly kind: 'proven'; readonly setting: ExemptionSetting }
  | { readonly kind: 'unproven'; readonly reason: string };
