/** EventBridge CloudTrail events for the reliability tests, built from the real fixture. */

import { randomUUID } from 'node:crypto';
import type { KeyEventName } from '../../functions/shared/constants.ts';
import { BASE_EVENTS, type Json } from './arbitraries.ts';

type JsonObject = { [key: string]: Json };

export interface KeyEventOptions {
  readonly eventName?: KeyEventName | string;
  /** requestParameters.userName; null sets requestParameters to null. */
  readonly userName: string | null;
  readonly accessKeyId?: string;
  /** responseElements.accessKey.userName (CreateAccessKey); defaults to userName. */
  readonly responseUserName?: string;
  readonly status?: 'Active' | 'Inactive';
  readonly userAgent?: string;
  readonly eventId?: string;
}

/** A successful IAM key call in the test account, shaped like the captured CreateAccessKey event. */
export function keyEvent(options: KeyEventOptions): JsonObject {
  const base = structuredClone(BASE_EVENTS[0]) as JsonObject;
  const detail = base.detail as JsonObject;
  const eventName = options.eventName ?? 'CreateAccessKey';
  detail.eventName = eventName;
  detail.eventID = options.eventId ?? randomUUID();
  detail.userAgent = options.userAgent ?? 'aws-cli/2.17.0 Python/3.11 Linux md/command#iam.create-access-key';
  if (options.userName === null) {
    detail.requestParameters = null;
  } else if (eventName === 'CreateAccessKey') {
    detail.requestParameters = { userName: options.userName };
  } else {
    detail.requestParameters = {
      userName: options.userName,
      ...(options.accessKeyId !== undefined ? { accessKeyId: options.accessKeyId } : {}),
      ...(options.status !== undefined ? { status: options.status } : {}),
    };
  }
  detail.responseElements =
    eventName === 'CreateAccessKey'
      ? {
          accessKey: {
            accessKeyId: options.accessKeyId ?? 'AKIAIOSFODNN7EXAMPLE',
            createDate: 'Jul 30, 2024 9:53:13 PM',
            status: 'Active',
            userName: options.responseUserName ?? options.userName ?? 'unknown',
          },
        }
      : null;
  return base;
}

/** Sets a value at a dotted path of a copy of `event` (`detail.userIdentity.type`). */
export function withField(event: JsonObject, path: string, value: Json): JsonObject {
  const copy = structuredClone(event);
  const keys = path.split('.');
  let node = copy as Record<string, Json>;
  for (const key of keys.slice(0, -1)) node = node[key] as Record<string, Json>;
  node[keys[keys.length - 1] as string] = value;
  return copy;
}
