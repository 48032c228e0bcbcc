import {
  GetAccessKeyLastUsedCommand,
  GetUserCommand,
  IAMClient,
  ListAccessKeysCommand,
  NoSuchEntityException,
  ServiceFailureException,
  UpdateAccessKeyCommand,
} from '@aws-sdk/client-iam';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { createIamPort } from '../../functions/adapters/iam.ts';
import { AwsCallError } from '../../functions/shared/errors.ts';

const iamMock = mockClient(IAMClient);
const iam = createIamPort(new IAMClient({ region: 'us-east-1' }));

const noSuchEntity = () =>
  new NoSuchEntityException({ message: 'The user with name bob cannot be found.', $metadata: {} });
const serviceFailure = () => new ServiceFailureException({ message: 'internal', $metadata: {} });

const USER = {
  UserName: 'bob',
  UserId: 'AIDABOB00000000000001',
  Arn: 'arn:aws:iam::123456789012:user/team/bob',
  Path: '/team/',
  CreateDate: new Date('2024-01-01T00:00:00Z'),
  Tags: [
    { Key: 'keywarden:exempt', Value: 'true' },
    { Key: 'team', Value: 'payments' },
  ],
};
const KEY_1 = {
  UserName: 'bob',
  AccessKeyId: 'AKIA1111111111111111',
  Status: 'Active' as const,
  CreateDate: new Date('2026-01-01T00:00:00Z'),
};
const KEY_2 = {
  UserName: 'bob',
  AccessKeyId: 'AKIA2222222222222222',
  Status: 'Inactive' as const,
  CreateDate: new Date('2026-05-01T00:00:00Z'),
};

beforeEach(() => {
  iamMock.reset();
});

afterAll(() => {
  iamMock.restore();
});

async function rejection(promise: Promise<unknown>): Promise<AwsCallError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(AwsCallError);
  return error as AwsCallError;
}

describe('createIamPort', () => {
  describe('readUser', () => {
    it('reads the user with GetUser and its keys with ListAccessKeys', async () => {
      iamMock.on(GetUserCommand).resolves({ User: USER });
      iamMock.on(ListAccessKeysCommand).resolves({ AccessKeyMetadata: [KEY_1, KEY_2], IsTruncated: false });

      const snapshot = await iam.readUser('bob');

      expect(iamMock.commandCalls(GetUserCommand).map((c) => c.args[0].input)).toEqual([{ UserName: 'bob' }]);
      expect(iamMock.commandCalls(ListAccessKeysCommand).map((c) => c.args[0].input)).toEqual([
        { UserName: 'bob', Marker: undefined },
      ]);
      expect(snapshot).toEqual({
        user: {
          userName: 'bob',
          userId: 'AIDABOB00000000000001',
          arn: 'arn:aws:iam::123456789012:user/team/bob',
          path: '/team/',
          createDate: new Date('2024-01-01T00:00:00Z'),
          tags: { 'keywarden:exempt': 'true', team: 'payments' },
        },
        keys: [
          {
            accessKeyId: 'AKIA1111111111111111',
            status: 'Active',
            createDate: new Date('2026-01-01T00:00:00Z'),
          },
          {
            accessKeyId: 'AKIA2222222222222222',
            status: 'Inactive',
            createDate: new Date('2026-05-01T00:00:00Z'),
          },
        ],
      });
    });

    it.each([
      { case: 'GetUser', failing: 'GetUser' },
      { case: 'ListAccessKeys', failing: 'ListAccessKeys' },
    ])('is undefined when $case says NoSuchEntity', async ({ failing }) => {
      iamMock.on(GetUserCommand).resolves({ User: USER });
      iamMock.on(ListAccessKeysCommand).resolves({ AccessKeyMetadata: [KEY_1] });
      if (failing === 'GetUser') iamMock.on(GetUserCommand).rejects(noSuchEntity());
      else iamMock.on(ListAccessKeysCommand).rejects(noSuchEntity());

      expect(await iam.readUser('bob')).toBeUndefined();
    });

    it('wraps any other failure in AwsCallError naming the operation and the code, keeping the cause', async () => {
      iamMock.on(GetUserCommand).rejects(serviceFailure());
      iamMock.on(ListAccessKeysCommand).resolves({ AccessKeyMetadata: [] });

      const error = await rejection(iam.readUser('bob'));

      expect(error.operation).toBe('GetUser');
      expect(error.code).toBe('ServiceFailureException');
      expect(error.message).toBe('GetUser failed: ServiceFailureException: internal');
      expect(error.cause).toBeInstanceOf(ServiceFailureException);
    });

    it('fails, named, when GetUser answers without a user', async () => {
      iamMock.on(GetUserCommand).resolves({});
      iamMock.on(ListAccessKeysCommand).resolves({ AccessKeyMetadata: [] });

      const error = await rejection(iam.readUser('bob'));

      expect(error.code).toBe('InvalidResponse');
    });

    it('defaults a user without path or tags to / and none', async () => {
      iamMock.on(GetUserCommand).resolves({ User: { ...USER, Path: undefined, Tags: undefined } });
      iamMock.on(ListAccessKeysCommand).resolves({ AccessKeyMetadata: [] });

      const snapshot = await iam.readUser('bob');

      expect(snapshot?.user.path).toBe('/');
      expect(snapshot?.user.tags).toEqual({});
    });
  });

  describe('listKeys', () => {
    it('follows ListAccessKeys pages until IsTruncated is false', async () => {
      iamMock
        .on(ListAccessKeysCommand, { UserName: 'bob', Marker: undefined })
        .resolves({ AccessKeyMetadata: [KEY_1], IsTruncated: true, Marker: 'page-2' })
        .on(ListAccessKeysCommand, { UserName: 'bob', Marker: 'page-2' })
        .resolves({ AccessKeyMetadata: [KEY_2], IsTruncated: false });

      const keys = await iam.listKeys('bob');

      expect(iamMock.commandCalls(ListAccessKeysCommand).map((c) => c.args[0].input.Marker)).toEqual([
        undefined,
        'page-2',
      ]);
      expect(keys?.map((k) => k.accessKeyId)).toEqual(['AKIA1111111111111111', 'AKIA2222222222222222']);
    });

    it('stops on a truncated page without a marker rather than looping', async () => {
      iamMock.on(ListAccessKeysCommand).resolves({ AccessKeyMetadata: [KEY_1], IsTruncated: true });

      expect(await iam.listKeys('bob')).toHaveLength(1);
      expect(iamMock.commandCalls(ListAccessKeysCommand)).toHaveLength(1);
    });

    it('skips entries without a key id', async () => {
      iamMock.on(ListAccessKeysCommand).resolves({ AccessKeyMetadata: [{ Status: 'Active' }, KEY_1] });

      expect((await iam.listKeys('bob'))?.map((k) => k.accessKeyId)).toEqual(['AKIA1111111111111111']);
    });

    it('is undefined for a user that does not exist, and fails for anything else', async () => {
      iamMock.on(ListAccessKeysCommand).rejectsOnce(noSuchEntity()).rejectsOnce(serviceFailure());

      expect(await iam.listKeys('bob')).toBeUndefined();
      expect((await rejection(iam.listKeys('bob'))).operation).toBe('ListAccessKeys');
    });
  });

  describe('lastUsed', () => {
    it.each([
      {
        case: 'a key used by S3 in eu-west-1',
        answer: { LastUsedDate: new Date('2026-05-25T09:30:00Z'), ServiceName: 's3', Region: 'eu-west-1' },
        expected: { date: new Date('2026-05-25T09:30:00Z'), serviceName: 's3', region: 'eu-west-1' },
      },
      {
        case: 'a key never used (N/A)',
        answer: { ServiceName: 'N/A', Region: 'N/A' },
        expected: { date: undefined, serviceName: undefined, region: undefined },
      },
      {
        case: 'a key used from a global service without region',
        answer: { LastUsedDate: new Date('2026-05-25T09:30:00Z'), ServiceName: 'iam', Region: 'N/A' },
        expected: { date: new Date('2026-05-25T09:30:00Z'), serviceName: 'iam', region: undefined },
      },
    ])('maps $case', async ({ answer, expected }) => {
      iamMock.on(GetAccessKeyLastUsedCommand).resolves({ UserName: 'bob', AccessKeyLastUsed: answer });

      expect(await iam.lastUsed('AKIA1111111111111111')).toEqual(expected);
      expect(iamMock.commandCalls(GetAccessKeyLastUsedCommand)[0]?.args[0].input).toEqual({
        AccessKeyId: 'AKIA1111111111111111',
      });
    });

    it('wraps a failure', async () => {
      iamMock.on(GetAccessKeyLastUsedCommand).rejects(serviceFailure());

      expect((await rejection(iam.lastUsed('AKIA1'))).operation).toBe('GetAccessKeyLastUsed');
    });
  });

  describe('keyOwner', () => {
    it.each([
      { case: 'the user that holds the key now', answer: { UserName: 'robert' }, owner: 'robert' },
      { case: 'undefined when IAM names no user', answer: {}, owner: undefined },
    ])('is $case', async ({ answer, owner }) => {
      iamMock.on(GetAccessKeyLastUsedCommand).resolves(answer);

      expect(await iam.keyOwner('AKIA1111111111111111')).toBe(owner);
      expect(iamMock.commandCalls(GetAccessKeyLastUsedCommand)[0]?.args[0].input).toEqual({
        AccessKeyId: 'AKIA1111111111111111',
      });
    });

    it('is undefined for a key IAM does not know, and fails, named, for anything else', async () => {
      iamMock.on(GetAccessKeyLastUsedCommand).rejectsOnce(noSuchEntity()).rejectsOnce(serviceFailure());

      expect(await iam.keyOwner('AKIAGONE000000000001')).toBeUndefined();
      const failure = await rejection(iam.keyOwner('AKIA1111111111111111'));
      expect(failure).toBeInstanceOf(AwsCallError);
      expect(failure.operation).toBe('GetAccessKeyLastUsed');
    });
  });

  describe('deactivate', () => {
    it('sends UpdateAccessKey with the user, the key and Inactive', async () => {
      iamMock.on(UpdateAccessKeyCommand).resolves({});

      await iam.deactivate('bob', 'AKIA1111111111111111');

      expect(iamMock.commandCalls(UpdateAccessKeyCommand).map((c) => c.args[0].input)).toEqual([
        { UserName: 'bob', AccessKeyId: 'AKIA1111111111111111', Status: 'Inactive' },
      ]);
      expect(iamMock.calls()).toHaveLength(1);
    });

    it('wraps a failure, even NoSuchEntity: a write on a vanished key is not a success', async () => {
      iamMock.on(UpdateAccessKeyCommand).rejects(noSuchEntity());

      const error = await rejection(iam.deactivate('bob', 'AKIA1'));

      expect(error.operation).toBe('UpdateAccessKey');
      expect(error.code).toBe('NoSuchEntityException');
    });
  });
});
