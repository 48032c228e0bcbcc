/**
 * The detector, then the sweep, against a moto server of this file's own: what KeyWarden recorded about a user
 * (a key another principal minted, a deactivation and its undoing) survives a rename of the user and the user's own
 * changes, and the compliance finding follows compliance.
 */

import {
  CreateAccessKeyCommand,
  DeleteAccessKeyCommand,
  ListAccessKeysCommand,
  UpdateAccessKeyCommand,
  UpdateUserCommand,
} from '@aws-sdk/client-iam';
import type { AwsSecurityFinding } from '@aws-sdk/client-securityhub';
import { GetFindingsCommand } from '@aws-sdk/client-securityhub';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { findingIdFor } from '../../functions/core/finding.ts';
import { threatFindingIdFor } from '../../functions/core/threat-finding.ts';
import { createDetector } from '../../functions/detector/handler.ts';
import { loadConfig } from '../../functions/shared/config.ts';
import { createLogger } from '../../functions/shared/logger.ts';
import { createSweepHandler } from '../../functions/sweep/handler.ts';
import { ADMIN_CALLER, keyEvent, LAMBDA_CONTEXT, selfCaller } from '../detector/moto-helpers.ts';
import { expectValidAsff } from '../support/asff-matchers.ts';
import { ACCOUNT_ID, CONTEXT, type IsolatedAws, REGION, startIsolatedAws } from './moto-fixture.ts';

const FIELD = 'keywarden/detector';
const THREAT = 'keywarden/threat';
const noWait = async (): Promise<void> => undefined;
const silent = () => {
  const logger = createLogger('keywarden-user-history-test');
  logger.setLogLevel('SILENT');
  return logger;
};

let aws: IsolatedAws;

beforeAll(async () => {
  aws = await startIsolatedAws();
  vi.stubEnv('AWS_REGION', REGION);
});
afterAll(async () => {
  vi.unstubAllEnvs();
  await aws?.stop();
});
beforeEach(async () => {
  await aws.reset();
});

const detector = (env: Record<string, string>) =>
  createDetector({ config: loadConfig(env), clients: aws.clients(), logger: silent(), sleep: noWait });

const sweep = (env: Record<string, string>) =>
  createSweepHandler({
    config: loadConfig(env),
    clients: aws.clients(),
    cloudTrail: aws.cloudTrail(),
    logger: silent(),
    sleep: noWait,
  })({}, CONTEXT);

/** Every stored finding with this Id (moto ignores GetFindings filters, so this checks). */
async function findingById(id: string): Promise<AwsSecurityFinding | undefined> {
  const found: AwsSecurityFinding[] = [];
  let NextToken: string | undefined;
  do {
    const page = await aws.securityHub.send(new GetFindingsCommand({ MaxResults: 100, NextToken }));
    found.push(...(page.Findings ?? []).filter((finding) => finding.Id === id));
    NextToken = page.NextToken || undefined;
  } while (NextToken);
  expect(found.length).toBeLessThanOrEqual(1);
  if (found[0] !== undefined) expectValidAsff(found[0]);
  return found[0];
}

async function createKey(userName: string): Promise<string> {
  const { AccessKey } = await aws.iam.send(new CreateAccessKeyCommand({ UserName: userName }));
  // Distinct creation times (moto keeps milliseconds), so "newest" never falls back to the id order.
  await new Promise((resolve) => setTimeout(resolve, 5));
  return AccessKey?.AccessKeyId as string;
}

async function statusOf(userName: string): Promise<Record<string, string>> {
  const listed = await aws.iam.send(new ListAccessKeysCommand({ UserName: userName }));
  return Object.fromEntries((listed.AccessKeyMetadata ?? []).map((k) => [k.AccessKeyId, k.Status]));
}

/**
 * Renames the user in moto and corrects, at the proxy, the old UserName moto still reports on the user's keys
 * (IAM reports the new one).
 */
async function rename(oldName: string, newName: string): Promise<void> {
  await aws.iam.send(new UpdateUserCommand({ UserName: oldName, NewUserName: newName }));
  for (const operation of ['iam.GetAccessKeyLastUsed', 'iam.ListAccessKeys']) {
    aws.proxy.inject({
      operation,
      rewriteResponse: (body) =>
        body.replaceAll(`<UserName>${oldName}</UserName>`, `<UserName>${newName}</UserName>`),
    });
  }
}

describe('a user renamed after another principal minted a key for it', () => {
  it('keeps the threat finding open under the new name when the sweep finds the key still active', async () => {
    // Prepare: the user has its own key; another principal mints a second; then the user is renamed.
    await aws.seed([{ userName: 'before-rename', activeKeys: 1 }]);
    const own = Object.keys(await statusOf('before-rename'))[0] as string;
    const minted = await createKey('before-rename');
    await detector({})(
      keyEvent({ userName: 'before-rename', accessKeyId: minted, caller: ADMIN_CALLER }),
      LAMBDA_CONTEXT,
    );
    expect((await findingById(threatFindingIdFor(ACCOUNT_ID, minted)))?.Compliance?.Status).toBe('FAILED');
    await rename('before-rename', 'after-rename');

    // Act: no rename event reached the detector; the scheduled sweep runs.
    await sweep({});

    // Assess: the key is active, so its threat finding stays open and names the user as IAM now calls it.
    const threat = await findingById(threatFindingIdFor(ACCOUNT_ID, minted));
    expect(threat).toMatchObject({
      Compliance: { Status: 'FAILED' },
      RecordState: 'ACTIVE',
      ProductFields: {
        [`${THREAT}/keyState`]: 'active',
        [`${THREAT}/userName`]: 'after-rename',
        [`${THREAT}/userArn`]: `arn:aws:iam::${ACCOUNT_ID}:user/after-rename`,
        [`${THREAT}/actorArn`]: ADMIN_CALLER.arn,
      },
    });
    // The compliance finding moved with the user: the old Id archived, saying where it went.
    const old = await findingById(findingIdFor(ACCOUNT_ID, 'before-rename'));
    expect(old).toMatchObject({
      RecordState: 'ARCHIVED',
      Compliance: { StatusReasons: [{ ReasonCode: 'USER_RENAMED' }] },
      ProductFields: { [`${FIELD}/continuedAs`]: findingIdFor(ACCOUNT_ID, 'after-rename') },
    });
    const current = await findingById(findingIdFor(ACCOUNT_ID, 'after-rename'));
    expect(current).toMatchObject({ Compliance: { Status: 'FAILED' }, RecordState: 'ACTIVE' });
    expect(current?.Description).toContain(`created by ${ADMIN_CALLER.arn}, another principal`);
    expect(await statusOf('after-rename')).toEqual({ [own]: 'Active', [minted]: 'Active' });
  });

  it('keeps the user’s own key with KEEP_KEY=auto after the rename, and switches off the minted one', async () => {
    // Prepare
    await aws.seed([{ userName: 'auto-before', activeKeys: 1 }]);
    const own = Object.keys(await statusOf('auto-before'))[0] as string;
    const minted = await createKey('auto-before');
    await detector({})(
      keyEvent({ userName: 'auto-before', accessKeyId: minted, caller: ADMIN_CALLER }),
      LAMBDA_CONTEXT,
    );
    await rename('auto-before', 'auto-after');

    // Act
    await sweep({ REMEDIATION_MODE: 'deactivate', KEEP_KEY: 'auto' });

    // Assess: the key's origin was followed by its id, so the older key, the user's own, is kept.
    expect(await statusOf('auto-after')).toEqual({ [own]: 'Active', [minted]: 'Inactive' });
    expect(await findingById(threatFindingIdFor(ACCOUNT_ID, minted))).toMatchObject({
      Compliance: { Status: 'PASSED' },
      RecordState: 'ACTIVE',
      ProductFields: { [`${THREAT}/keyState`]: 'inactive', [`${THREAT}/userName`]: 'auto-after' },
    });
  });

  it('carries both findings to the new name when the rename event arrives, naming who renamed the user', async () => {
    // Prepare
    await aws.seed([{ userName: 'event-before', activeKeys: 1 }]);
    const minted = await createKey('event-before');
    const handler = detector({});
    await handler(
      keyEvent({ userName: 'event-before', accessKeyId: minted, caller: ADMIN_CALLER }),
      LAMBDA_CONTEXT,
    );
    await rename('event-before', 'event-after');
    const renamed = keyEvent({ userName: 'event-before', caller: ADMIN_CALLER }) as {
      detail: Record<string, unknown>;
    };
    renamed.detail.eventName = 'UpdateUser';
    renamed.detail.requestParameters = { userName: 'event-before', newUserName: 'event-after' };
    renamed.detail.responseElements = null;
    aws.proxy.reset();

    // Act
    const result = await handler(renamed, LAMBDA_CONTEXT);

    // Assess
    expect(result).toMatchObject({
      status: 'evaluated',
      userName: 'event-after',
      findingId: findingIdFor(ACCOUNT_ID, 'event-after'),
    });
    const old = await findingById(findingIdFor(ACCOUNT_ID, 'event-before'));
    expect(old).toMatchObject({
      RecordState: 'ARCHIVED',
      Compliance: { Status: 'PASSED', StatusReasons: [{ ReasonCode: 'USER_RENAMED' }] },
      ProductFields: {
        [`${FIELD}/renamedTo`]: 'event-after',
        [`${FIELD}/renamedBy`]: expect.stringContaining(ADMIN_CALLER.arn),
        [`${FIELD}/continuedAs`]: findingIdFor(ACCOUNT_ID, 'event-after'),
      },
    });
    expect(old?.Description).toContain(findingIdFor(ACCOUNT_ID, 'event-after'));
    const current = await findingById(findingIdFor(ACCOUNT_ID, 'event-after'));
    expect(current).toMatchObject({
      Compliance: { Status: 'FAILED' },
      ProductFields: {
        [`${FIELD}/userName`]: 'event-after',
        [`${FIELD}/trigger/eventName`]: 'UpdateUser',
        [`${FIELD}/trigger/renamedFrom`]: 'event-before',
      },
    });
    expect(await findingById(threatFindingIdFor(ACCOUNT_ID, minted))).toMatchObject({
      Compliance: { Status: 'FAILED' },
      ProductFields: { [`${THREAT}/userName`]: 'event-after', [`${THREAT}/keyState`]: 'active' },
    });
    // A rename costs the user's read, last use of its two active keys, one GetFindings and one import.
    expect(aws.proxy.countsByOperation()).toEqual({
      'iam.GetUser': 1,
      'iam.ListAccessKeys': 1,
      'iam.GetAccessKeyLastUsed': 2,
      'securityhub.GetFindings': 1,
      'securityhub.BatchImportFindings': 1,
    });
  });
});

describe('a user renamed after KeyWarden switched off one of its keys', () => {
  it('carries the finding and KeyWarden’s record to the new name when the sweep follows the keys', async () => {
    // Prepare: KeyWarden switches off A and keeps B; the rename event never reaches it.
    await aws.seed([{ userName: 'record-before', activeKeys: 0 }]);
    const keyA = await createKey('record-before');
    const keyB = await createKey('record-before');
    await detector({ REMEDIATION_MODE: 'deactivate' })(
      keyEvent({ userName: 'record-before', accessKeyId: keyB, caller: selfCaller('record-before') }),
      LAMBDA_CONTEXT,
    );
    await rename('record-before', 'record-after');

    // Act
    const summary = await sweep({ REMEDIATION_MODE: 'deactivate' });

    // Assess
    expect(await findingById(findingIdFor(ACCOUNT_ID, 'record-before'))).toMatchObject({
      RecordState: 'ARCHIVED',
      Compliance: { StatusReasons: [{ ReasonCode: 'USER_RENAMED' }] },
      ProductFields: { [`${FIELD}/renamedTo`]: 'record-after' },
    });
    expect(await findingById(findingIdFor(ACCOUNT_ID, 'record-after'))).toMatchObject({
      Compliance: { Status: 'PASSED', StatusReasons: [{ ReasonCode: 'SURPLUS_KEY_DEACTIVATED' }] },
      RecordState: 'ACTIVE',
      ProductFields: { [`${FIELD}/deactivatedKeys`]: keyA, [`${FIELD}/userName`]: 'record-after' },
    });
    expect(summary).toMatchObject({ archived: 0, deactivated: 0 });
    expect(await statusOf('record-after')).toEqual({ [keyA]: 'Inactive', [keyB]: 'Active' });
  });

  it('archives a deleted user’s plain finding as deleted, without following its keys (its twin)', async () => {
    // Prepare: a violation reported by a sweep, then the user and its keys deleted.
    await aws.seed([{ userName: 'deleted-plain', activeKeys: 2 }]);
    await sweep({});
    await aws.deleteUser('deleted-plain');
    aws.proxy.reset();

    // Act
    await sweep({});

    // Assess
    expect(await findingById(findingIdFor(ACCOUNT_ID, 'deleted-plain'))).toMatchObject({
      RecordState: 'ARCHIVED',
      Compliance: { StatusReasons: [{ ReasonCode: 'USER_DELETED' }] },
    });
    expect(aws.proxy.count('iam.GetAccessKeyLastUsed')).toBe(0);
  });
});

describe('a user that undoes KeyWarden’s deactivation and keeps one active key', () => {
  it('is PASSED after its own delete and re-activate events and the next sweep, with the history kept', async () => {
    // Prepare: KeyWarden (deactivate mode, KEEP_KEY=newest) switches off A and keeps B.
    await aws.seed([{ userName: 'undoes', activeKeys: 0 }]);
    const keyA = await createKey('undoes');
    const keyB = await createKey('undoes');
    const handler = detector({ REMEDIATION_MODE: 'deactivate' });
    const self = selfCaller('undoes');
    await handler(keyEvent({ userName: 'undoes', accessKeyId: keyB, caller: self }), LAMBDA_CONTEXT);
    expect(await statusOf('undoes')).toEqual({ [keyA]: 'Inactive', [keyB]: 'Active' });

    // Act: the user deletes B and turns A back on, itself; then the scheduled sweep runs.
    await aws.iam.send(new DeleteAccessKeyCommand({ UserName: 'undoes', AccessKeyId: keyB }));
    await handler(
      keyEvent({ eventName: 'DeleteAccessKey', userName: 'undoes', accessKeyId: keyB, caller: self }),
      LAMBDA_CONTEXT,
    );
    await aws.iam.send(
      new UpdateAccessKeyCommand({ UserName: 'undoes', AccessKeyId: keyA, Status: 'Active' }),
    );
    await handler(
      keyEvent({
        eventName: 'UpdateAccessKey',
        userName: 'undoes',
        accessKeyId: keyA,
        status: 'Active',
        caller: self,
      }),
      LAMBDA_CONTEXT,
    );
    const afterEvents = await findingById(findingIdFor(ACCOUNT_ID, 'undoes'));
    await sweep({ REMEDIATION_MODE: 'deactivate' });

    // Assess: one active key complies with CIS 1.13; the record keeps what happened.
    const afterSweep = await findingById(findingIdFor(ACCOUNT_ID, 'undoes'));
    for (const finding of [afterEvents, afterSweep]) {
      expect(finding).toMatchObject({
        Compliance: { Status: 'PASSED', StatusReasons: [{ ReasonCode: 'DEACTIVATED_KEY_REACTIVATED' }] },
        Severity: { Label: 'INFORMATIONAL' },
        RecordState: 'ACTIVE',
        ProductFields: {
          [`${FIELD}/reactivatedKeys`]: keyA,
          [`${FIELD}/reactivatedByKind`]: 'self',
          [`${FIELD}/reactivatedBy`]: expect.stringContaining(self.arn),
          [`${FIELD}/deactivatedAt`]: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T/),
          [`${FIELD}/activeKeyCount`]: '1',
        },
      });
      expect(finding?.Description).toContain('the user re-activated its own key');
    }
    expect(await statusOf('undoes')).toEqual({ [keyA]: 'Active' });
    expect(await findingById(threatFindingIdFor(ACCOUNT_ID, keyA))).toBeUndefined();
  });
});
