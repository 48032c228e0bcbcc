/** The two IAM writes of `keywarden restore`: the exemption tag and the key's re-activation. */

import { type IAMClient, TagUserCommand, UpdateAccessKeyCommand } from '@aws-sdk/client-iam';
import { AwsCallError } from '../shared/errors.ts';
import { errorCode, errorMessage } from './clients.ts';

export interface RestoreIamPort {
  /** TagUser: sets (or replaces) one tag. */
  tagUser(userName: string, key: string, value: string): Promise<void>;
  /** UpdateAccessKey to Active. */
  activate(userName: string, accessKeyId: string): Promise<void>;
}

export function createRestoreIamPort(client: IAMClient): RestoreIamPort {
  const call = async (operation: string, send: () => Promise<unknown>): Promise<void> => {
    try {
      await send();
    } catch (error) {
      throw new AwsCallError(operation, errorCode(error), errorMessage(error), { cause: error });
    }
  };
  return {
    tagUser: (userName, key, value) =>
      call('TagUser', () =>
        client.send(new TagUserCommand({ UserName: userName, Tags: [{ Key: key, Value: value }] })),
      ),
    activate: (userName, accessKeyId) =>
      call('UpdateAccessKey', () =>
        client.send(
          new UpdateAccessKeyCommand({ UserName: userName, AccessKeyId: accessKeyId, Status: 'Active' }),
        ),
      ),
  };
}
