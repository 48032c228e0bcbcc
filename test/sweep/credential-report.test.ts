import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { IAMClient } from '@aws-sdk/client-iam';
import { describe, expect, it } from 'vitest';
import { createIamPort } from '../../functions/adapters/iam.ts';
import type { AccessKey, UserSnapshot } from '../../functions/core/types.ts';
import { CredentialReportError } from '../../functions/shared/errors.ts';
import {
  type CredentialReportUser,
  createdInSlotSecond,
  decodeReportContent,
  isReportCandidate,
  parseCredentialReport,
  parseCsv,
  withReportHints,
} from '../../functions/sweep/credential-report.ts';

// The column order IAM documents; the parser must not depend on it.
const HEADER =
  'user,arn,user_creation_time,password_enabled,password_last_used,password_last_changed,password_next_rotation,mfa_active,access_key_1_active,access_key_1_last_rotated,access_key_1_last_used_date,access_key_1_last_used_region,access_key_1_last_used_service,access_key_2_active,access_key_2_last_rotated,access_key_2_last_used_date,access_key_2_last_used_region,access_key_2_last_used_service,cert_1_active,cert_1_last_rotated,cert_2_active,cert_2_last_rotated';

function row(user: string, arn: string, key1: string, key2: string): string {
  return `${user},${arn},2024-01-01T00:00:00+00:00,false,not_supported,N/A,N/A,false,${key1},${key2},false,N/A,false,N/A`;
}
const NO_KEY = 'false,N/A,N/A,N/A,N/A';
const activeKey = (rotated: string, used = 'N/A', region = 'N/A', service = 'N/A'): string =>
  `true,${rotated},${used},${region},${service}`;

describe('parseCsv', () => {
  it.each([
    {
      case: 'plain fields',
      text: 'a,b\n1,2\n',
      rows: [
        ['a', 'b'],
        ['1', '2'],
      ],
    },
    {
      case: 'no trailing line break',
      text: 'a,b\n1,2',
      rows: [
        ['a', 'b'],
        ['1', '2'],
      ],
    },
    {
      case: 'CRLF line breaks',
      text: 'a,b\r\n1,2\r\n',
      rows: [
        ['a', 'b'],
        ['1', '2'],
      ],
    },
    {
      case: 'a byte-order mark',
      text: '\uFEFFa,b\n1,2\n',
      rows: [
        ['a', 'b'],
        ['1', '2'],
      ],
    },
    {
      case: 'blank lines',
      text: 'a,b\n\n1,2\n\n',
      rows: [
        ['a', 'b'],
        ['1', '2'],
      ],
    },
    {
      case: 'a quoted comma',
      text: 'a,b\n"x,y",2\n',
      rows: [
        ['a', 'b'],
        ['x,y', '2'],
      ],
    },
    {
      case: 'an escaped quote',
      text: 'a,b\n"say ""hi""",2\n',
      rows: [
        ['a', 'b'],
        ['say "hi"', '2'],
      ],
    },
    {
      case: 'a line break inside quotes',
      text: 'a,b\n"x\ny",2\n',
      rows: [
        ['a', 'b'],
        ['x\ny', '2'],
      ],
    },
    {
      case: 'empty fields',
      text: 'a,b,c\n,,\n',
      rows: [
        ['a', 'b', 'c'],
        ['', '', ''],
      ],
    },
    {
      case: 'an empty quoted field',
      text: 'a,b\n"",2\n',
      rows: [
        ['a', 'b'],
        ['', '2'],
      ],
    },
  ])('splits $case', ({ text, rows }) => {
    // Act
    const parsed = parseCsv(text);

    // Assess
    expect(parsed).toEqual(rows);
  });

  it('throws CredentialReportError when the text ends inside a quoted field', () => {
    expect(() => parseCsv('a,b\n"unterminated,2\n')).toThrow(CredentialReportError);
  });
});

describe('parseCredentialReport', () => {
  it('reads users, ARNs with paths and both key slots by the header names', () => {
    // Prepare
    const csv = [
      HEADER,
      row(
        'alice',
        'arn:aws:iam::123456789012:user/eng/alice',
        activeKey('2024-02-01T10:00:00+00:00', '2024-05-01T09:00:00+00:00', 'eu-west-1', 's3'),
        activeKey('2024-03-01T10:00:00+00:00'),
      ),
    ].join('\n');

    // Act
    const report = parseCredentialReport(csv);

    // Assess
    expect(report.root).toBeUndefined();
    expect(report.users).toEqual([
      {
        userName: 'alice',
        arn: 'arn:aws:iam::123456789012:user/eng/alice',
        createdAt: new Date('2024-01-01T00:00:00Z'),
        keys: [
          {
            active: true,
            lastRotated: new Date('2024-02-01T10:00:00Z'),
            lastUsed: { date: new Date('2024-05-01T09:00:00Z'), serviceName: 's3', region: 'eu-west-1' },
          },
          {
            active: true,
            lastRotated: new Date('2024-03-01T10:00:00Z'),
            lastUsed: { date: undefined, serviceName: undefined, region: undefined },
          },
        ],
      },
    ]);
  });

  it('keeps the <root_account> row apart from the users', () => {
    // Prepare
    const csv = [
      HEADER,
      row('<root_account>', 'arn:aws:iam::123456789012:root', activeKey('2024-01-01T00:00:00+00:00'), NO_KEY),
      row('bob', 'arn:aws:iam::123456789012:user/bob', NO_KEY, NO_KEY),
    ].join('\n');

    // Act
    const report = parseCredentialReport(csv);

    // Assess
    expect(report.users.map((u) => u.userName)).toEqual(['bob']);
    expect(report.root?.keys[0].active).toBe(true);
  });

  it('reads columns in any order and ignores columns it does not know', () => {
    // Prepare
    const csv = [
      'access_key_2_active,new_column,arn,access_key_1_active,user',
      'TRUE,whatever,arn:aws:iam::123456789012:user/carol,true,carol',
    ].join('\n');

    // Act
    const [carol] = parseCredentialReport(csv).users;

    // Assess
    expect(carol?.userName).toBe('carol');
    expect(carol?.keys.map((k) => k.active)).toEqual([true, true]);
    expect(carol?.keys.map((k) => k.lastUsed)).toEqual([undefined, undefined]);
  });

  it.each([
    { value: 'true', active: true },
    { value: 'TRUE', active: true },
    { value: ' True ', active: true },
    { value: 'false', active: false },
    { value: 'FALSE', active: false },
    { value: 'N/A', active: false },
    { value: 'not_supported', active: false },
    { value: 'maybe', active: undefined },
  ])('reads access_key_1_active=$value as $active', ({ value, active }) => {
    // Prepare
    const csv = `user,arn,access_key_1_active,access_key_2_active\ndan,arn:aws:iam::123456789012:user/dan,${value},false`;

    // Act
    const [dan] = parseCredentialReport(csv).users;

    // Assess
    expect(dan?.keys[0].active).toBe(active);
  });

  it('reads a user name and an ARN path that hold commas and quotes', () => {
    // Prepare: IAM names may hold commas; paths any printable ASCII.
    const csv = `user,arn,access_key_1_active,access_key_2_active\n"a,b","arn:aws:iam::123456789012:user/x""y/a,b",true,true`;

    // Act
    const [user] = parseCredentialReport(csv).users;

    // Assess
    expect(user?.userName).toBe('a,b');
    expect(user?.arn).toBe('arn:aws:iam::123456789012:user/x"y/a,b');
  });

  it('keeps the other rows when a user name holds a comma IAM wrote unquoted, and marks that user for a live check', () => {
    // Prepare: the row of "ops,batch" splits into two more fields than the header (name and ARN both hold the comma).
    const csv = [
      HEADER,
      row('alice', 'arn:aws:iam::123456789012:user/alice', activeKey('2024-01-01T00:00:00+00:00'), NO_KEY),
      row(
        'ops,batch',
        'arn:aws:iam::123456789012:user/a,b/ops,batch',
        activeKey('2024-01-01T00:00:00+00:00'),
        NO_KEY,
      ),
      row('bob', 'arn:aws:iam::123456789012:user/bob', NO_KEY, NO_KEY),
    ].join('\n');

    // Act
    const report = parseCredentialReport(csv);

    // Assess
    expect(report.users.map((user) => user.userName)).toEqual(['alice', 'ops,batch', 'bob']);
    const unreadable = report.users[1] as CredentialReportUser;
    expect(unreadable.arn).toBe('arn:aws:iam::123456789012:user/a,b/ops,batch');
    expect(unreadable.keys.map((slot) => slot.active)).toEqual([undefined, undefined]);
    expect(isReportCandidate(unreadable)).toBe(true);
    expect(report.unreadable).toEqual([
      { line: 3, userName: 'ops,batch', reason: 'line 3 has 25 fields, the header has 22' },
    ]);
    expect(report.users.filter(isReportCandidate).map((user) => user.userName)).toEqual(['ops,batch']);
  });

  it('still rejects a longer row whose user it cannot tell', () => {
    const csv = `${HEADER}\n${row('x', 'not-an-arn,extra', NO_KEY, NO_KEY)}`;
    expect(() => parseCredentialReport(csv)).toThrow(/line 2 has 23 fields, the header has 22/);
  });

  it.each([
    {
      case: 'no user column',
      csv: 'arn,access_key_1_active,access_key_2_active\nx,true,true',
      message: /no user/,
    },
    {
      case: 'no access_key_2_active column',
      csv: 'user,arn,access_key_1_active\nx,y,true',
      message: /access_key_2_active/,
    },
    { case: 'an empty report', csv: '', message: /empty/ },
    {
      case: 'a row with fewer fields than the header',
      csv: 'user,arn,access_key_1_active,access_key_2_active\nx,y,true',
      message: /line 2 has 3 fields/,
    },
    {
      case: 'a row without a user name',
      csv: 'user,arn,access_key_1_active,access_key_2_active\n,y,true,true',
      message: /line 2 has no user name/,
    },
  ])('throws CredentialReportError for $case', ({ csv, message }) => {
    expect(() => parseCredentialReport(csv)).toThrow(CredentialReportError);
    expect(() => parseCredentialReport(csv)).toThrow(message);
  });
});

describe('isReportCandidate', () => {
  const user = (active1: boolean | undefined, active2: boolean | undefined): CredentialReportUser => ({
    userName: 'erin',
    arn: 'arn:aws:iam::123456789012:user/erin',
    createdAt: undefined,
    keys: [
      { active: active1, lastRotated: undefined, lastUsed: undefined },
      { active: active2, lastRotated: undefined, lastUsed: undefined },
    ],
  });

  it.each([
    { keys: [true, false], candidate: false },
    { keys: [true, true], candidate: true },
    { keys: [false, false], candidate: false },
    { keys: [false, true], candidate: false },
    { keys: [true, undefined], candidate: true },
    { keys: [false, undefined], candidate: false },
    { keys: [undefined, undefined], candidate: true },
  ])('says $candidate for active keys $keys', ({ keys, candidate }) => {
    expect(isReportCandidate(user(keys[0], keys[1]))).toBe(candidate);
  });
});

describe('withReportHints', () => {
  const live = (keys: AccessKey[]): UserSnapshot => ({
    user: {
      userName: 'fay',
      userId: 'AIDAFAY',
      arn: 'arn:aws:iam::123456789012:user/fay',
      path: '/',
      createDate: new Date('2024-01-01T00:00:00Z'),
      tags: {},
    },
    keys,
  });
  const key = (id: string, created: string, status = 'Active'): AccessKey => ({
    accessKeyId: id,
    status,
    createDate: new Date(created),
  });
  const used = (date: string | undefined, serviceName?: string) => ({
    date: date === undefined ? undefined : new Date(date),
    serviceName,
    region: serviceName === undefined ? undefined : 'us-east-1',
  });
  const reportUser = (
    slot1: [string | undefined, ReturnType<typeof used> | undefined],
    slot2: [string | undefined, ReturnType<typeof used> | undefined],
  ): CredentialReportUser => ({
    userName: 'fay',
    arn: 'arn:aws:iam::123456789012:user/fay',
    createdAt: undefined,
    keys: [
      { active: true, lastRotated: slot1[0] ? new Date(slot1[0]) : undefined, lastUsed: slot1[1] },
      { active: true, lastRotated: slot2[0] ? new Date(slot2[0]) : undefined, lastUsed: slot2[1] },
    ],
  });

  it('matches each live key to the report slot created in the same second', () => {
    // Prepare: the live read has milliseconds, the report whole seconds; slots in the other order.
    const snapshot = live([
      key('AKIA1', '2024-02-01T10:00:00.123Z'),
      key('AKIA2', '2024-03-01T10:00:00.900Z'),
    ]);
    const report = reportUser(
      ['2024-03-01T10:00:00Z', used('2024-05-02T00:00:00Z', 'iam')],
      ['2024-02-01T10:00:00Z', used(undefined)],
    );

    // Act
    const hinted = withReportHints(snapshot, report);

    // Assess
    expect(hinted.keys.map((k) => k.lastUsed)).toEqual([
      used(undefined),
      used('2024-05-02T00:00:00Z', 'iam'),
    ]);
  });

  it('matches a key the SDK rounded up into the next second to the slot of the second it was created in', () => {
    // Prepare: created at 10:00:00.9996; IAM's wire value keeps the microseconds, the SDK rounds them to
    // 10:00:01.000, the report truncates to 10:00:00.
    const snapshot = live([
      key('AKIA1', '2024-02-01T10:00:01.000Z'),
      key('AKIA2', '2024-03-01T10:00:00.000Z'),
    ]);
    const report = reportUser(
      ['2024-02-01T10:00:00Z', used(undefined)],
      ['2024-03-01T10:00:00Z', used('2024-05-02T00:00:00Z', 'iam')],
    );

    // Act
    const hinted = withReportHints(snapshot, report);

    // Assess
    expect(hinted.keys.map((k) => k.lastUsed)).toEqual([
      used(undefined),
      used('2024-05-02T00:00:00Z', 'iam'),
    ]);
  });

  it.each([
    { created: '2024-02-01T10:00:00.000Z', matches: true },
    { created: '2024-02-01T09:59:59.999Z', matches: false },
    { created: '2024-02-01T10:00:00.999Z', matches: true },
    { created: '2024-02-01T10:00:01.000Z', matches: true },
    { created: '2024-02-01T10:00:01.001Z', matches: false },
  ])('dates a key created at $created in the report second 10:00:00: $matches', ({ created, matches }) => {
    expect(createdInSlotSecond(new Date('2024-02-01T10:00:00Z'), new Date(created))).toBe(matches);
  });

  it('leaves a key created after the report without a hint, so the engine reads it live', () => {
    // Prepare
    const snapshot = live([key('AKIA1', '2024-02-01T10:00:00Z'), key('AKIA3', '2024-06-01T10:00:00Z')]);
    const report = reportUser(['2024-02-01T10:00:00Z', used(undefined)], [undefined, used(undefined)]);

    // Act
    const hinted = withReportHints(snapshot, report);

    // Assess
    expect(hinted.keys.map((k) => k.lastUsed)).toEqual([used(undefined), undefined]);
  });

  it.each([
    { case: 'agree', second: used(undefined), hinted: true },
    { case: 'disagree', second: used('2024-05-02T00:00:00Z', 's3'), hinted: false },
  ])('gives keys created in the same second a hint only when both slots $case', ({ second, hinted }) => {
    // Prepare
    const snapshot = live([
      key('AKIA1', '2024-02-01T10:00:00.100Z'),
      key('AKIA2', '2024-02-01T10:00:00.700Z'),
    ]);
    const report = reportUser(['2024-02-01T10:00:00Z', used(undefined)], ['2024-02-01T10:00:00Z', second]);

    // Act
    const keys = withReportHints(snapshot, report).keys;

    // Assess
    expect(keys.every((k) => k.lastUsed !== undefined)).toBe(hinted);
  });

  it('leaves inactive keys and keys that already carry last-used data as they are', () => {
    // Prepare
    const known = used('2024-05-05T00:00:00Z', 'sts');
    const snapshot = live([
      key('AKIA1', '2024-02-01T10:00:00Z', 'Inactive'),
      { ...key('AKIA2', '2024-03-01T10:00:00Z'), lastUsed: known },
    ]);
    const report = reportUser(
      ['2024-02-01T10:00:00Z', used('2024-04-01T00:00:00Z', 's3')],
      ['2024-03-01T10:00:00Z', used(undefined)],
    );

    // Act
    const keys = withReportHints(snapshot, report).keys;

    // Assess
    expect(keys.map((k) => k.lastUsed)).toEqual([undefined, known]);
  });

  it('gives no hint when the report has no last-used columns', () => {
    // Prepare
    const snapshot = live([key('AKIA1', '2024-02-01T10:00:00Z'), key('AKIA2', '2024-03-01T10:00:00Z')]);
    const report = reportUser(['2024-02-01T10:00:00Z', undefined], ['2024-03-01T10:00:00Z', undefined]);

    // Act
    const keys = withReportHints(snapshot, report).keys;

    // Assess
    expect(keys.map((k) => k.lastUsed)).toEqual([undefined, undefined]);
  });
});

describe('decodeReportContent', () => {
  const csv = 'user,arn,access_key_1_active,access_key_2_active\nx,y,true,false\n';

  it.each([
    { case: 'bytes (what the SDK returns)', content: new TextEncoder().encode(csv) },
    { case: 'a base64 string (what the wire carries)', content: Buffer.from(csv).toString('base64') },
    { case: 'CSV text', content: csv },
  ])('returns the CSV from $case', ({ content }) => {
    expect(decodeReportContent(content)).toBe(csv);
  });

  it.each([
    { case: 'no content', content: undefined },
    { case: 'base64 of something else', content: Buffer.from('<html>').toString('base64') },
  ])('throws CredentialReportError for $case', ({ content }) => {
    expect(() => decodeReportContent(content)).toThrow(CredentialReportError);
  });
});

describe('withReportHints on keys read through the SDK', () => {
  // IAM's query protocol as moto serves it: CreateDate with microseconds.
  const listAccessKeys = (createDate: string): string =>
    `<ListAccessKeysResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><ListAccessKeysResult><IsTruncated>false</IsTruncated><AccessKeyMetadata><member><UserName>fay</UserName><AccessKeyId>AKIAFAY1</AccessKeyId><Status>Active</Status><CreateDate>${createDate}</CreateDate></member></AccessKeyMetadata></ListAccessKeysResult><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></ListAccessKeysResponse>`;

  it('hints a key created in the last half millisecond of a second, which the SDK dates a second later', async () => {
    // Prepare
    const server = createServer((_, res) => {
      res.writeHead(200, { 'content-type': 'text/xml' });
      res.end(listAccessKeys('2024-02-01T10:00:00.999600Z'));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const iam = createIamPort(
      new IAMClient({
        endpoint: `http://127.0.0.1:${port}`,
        region: 'us-east-1',
        credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
      }),
    );
    const report = parseCredentialReport(
      `${HEADER}\n${row('fay', 'arn:aws:iam::123456789012:user/fay', activeKey('2024-02-01T10:00:00+00:00', '2024-05-02T00:00:00+00:00', 'us-east-1', 'iam'), NO_KEY)}`,
    ).users[0] as CredentialReportUser;

    // Act
    const keys = await iam.listKeys('fay').finally(() => server.close());
    const hinted = withReportHints(
      {
        user: {
          userName: 'fay',
          userId: 'AIDAFAY',
          arn: report.arn,
          path: '/',
          createDate: new Date(0),
          tags: {},
        },
        keys: keys ?? [],
      },
      report,
    );

    // Assess
    expect(keys?.[0]?.createDate.toISOString()).toBe('2024-02-01T10:00:01.000Z');
    expect(hinted.keys[0]?.lastUsed).toEqual({
      date: new Date('2024-05-02T00:00:00Z'),
      serviceName: 'iam',
      region: 'us-east-1',
    });
  });
});
