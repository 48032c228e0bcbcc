/**
 * An HTTP proxy in front of moto that records which AWS operation every request was, and can inject faults
 * (an HTTP error with an AWS error body, or a delay) and enforce request rates as AWS does (a token bucket per
 * operation). It counts what reaches the emulator, not what the code says.
 */

import {
  createServer,
  request as httpRequest,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import { type Caller, lookupEvents, type TrailRecord, updateAccessKeyRecord } from './trail-records.ts';

export interface RecordedCall {
  readonly service: string;
  readonly operation: string;
  /** Set when the proxy refused the call for exceeding a rate limit. */
  readonly throttled?: true;
  /** CloudTrail LookupEvents: the lookup attribute's key (`EventName`, `AccessKeyId`, …) and the signing Region. */
  readonly lookup?: { readonly attribute: string | undefined; readonly region: string };
}

/**
 * A request rate enforced per operation, as AWS does with a token bucket: `burst` calls at once, refilled at
 * `perSecond`; a call finding the bucket empty is answered 429 with `code` (nothing reaches the emulator).
 */
export interface RateLimit {
  /** `Service.Operation` or `Operation`, e.g. `securityhub.GetFindings`. */
  readonly operation: string;
  readonly perSecond: number;
  readonly burst: number;
  /** @default 'ThrottlingException' (what Security Hub returns) */
  readonly code?: string;
}

export interface AwsProxyOptions {
  readonly rateLimits?: readonly RateLimit[];
  /** Added before forwarding every call, to stand in for the round trip to AWS. @default 0 */
  readonly latencyMs?: number;
  /**
   * Answer a GetFindings that filters on `Id` with only the findings it asks for, as Security Hub does (moto
   * ignores filters and pages through every stored finding, which multiplies the calls of a full account).
   * @default false
   */
  readonly filterFindingsById?: boolean;
  /** The clock of the token buckets; milliseconds. */
  readonly now?: () => number;
}

export interface Fault {
  /** `Service.Operation` or `Operation`, e.g. `iam.ListAccessKeys`, `BatchImportFindings`. */
  readonly operation: string;
  /** How many matching requests fail before the fault stops; default every one. */
  readonly times?: number;
  readonly status?: number;
  readonly code?: string;
  /** Delay before answering (or before forwarding, when status is absent). */
  readonly delayMs?: number;
  /** Matches only while this holds (checked when a request arrives). */
  readonly when?: () => boolean;
  /**
   * Matches only a request whose raw body contains this text, e.g. an account id in AssumeRole's `RoleArn` (a
   * query-protocol body is URL-encoded: digits and `-` appear as they are, `:` and `/` do not).
   */
  readonly bodyIncludes?: string;
  /**
   * Runs before the request is forwarded (after any delay): changes state under the request, as a concurrent actor
   * would. A hook alone (no status) forwards the request once it is done.
   */
  readonly hook?: () => Promise<void> | void;
  /**
   * Rewrites the emulator's answer before it is returned (the request is forwarded as it is), to correct what the
   * emulator gets wrong, e.g. the old UserName moto keeps on a renamed user's keys.
   */
  readonly rewriteResponse?: (body: string) => string;
}

export interface AwsProxy {
  readonly endpoint: string;
  readonly calls: RecordedCall[];
  count(operation?: string): number;
  countsByOperation(): Record<string, number>;
  /** LookupEvents calls by their lookup attribute's key (`EventName`: who set a tag; `AccessKeyId`: a key's use). */
  lookups(attribute: string): readonly { readonly region: string }[];
  /** Calls refused by a rate limit, by `service.operation`. */
  throttledByOperation(): Record<string, number>;
  reset(): void;
  inject(fault: Fault): void;
  clearFaults(): void;
  /**
   * From now on, a finding imported with an UpdatedAt not later than the last one forwarded for its Id is dropped
   * from the request, as Security Hub ignores it (moto overwrites regardless).
   */
  enforceUpdatedAt(): void;
  /**
   * From now on, CloudTrail LookupEvents (which moto answers 500) also answers from `records`, CloudTrail records
   * as a trail holds them, beside {@link trail} (see trail-records.ts for the filtering, ordering and paging).
   * Until {@link clearFaults}.
   */
  serveLookupEvents(records: readonly Record<string, unknown>[]): void;
  /** CloudTrail records LookupEvents serves (moto answers it 500). */
  readonly trail: TrailRecord[];
  /**
   * From now on, every IAM UpdateAccessKey that moto carries out is added to {@link trail} as made by `caller`
   * (undefined: not recorded), as CloudTrail would log it.
   */
  recordKeyUpdates(caller: (() => Caller | undefined) | undefined): void;
  /** Empties {@link trail} and stops recording. */
  clearTrail(): void;
  /**
   * From now on, IAM tag keys are case-insensitive, as in IAM (moto keeps `A` and `a` as two tags): a TagUser whose
   * key matches a tag of the user in other letters replaces that tag's value and keeps its letters. Until
   * {@link clearFaults}.
   */
  caseInsensitiveTagKeys(): void;
  close(): Promise<void>;
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

const REST_OPERATIONS: [RegExp, string, string][] = [
  [/^POST \/findings\/import$/, 'securityhub', 'BatchImportFindings'],
  [/^POST \/findings$/, 'securityhub', 'GetFindings'],
  [/^PATCH \/findings\/batchupdate$/, 'securityhub', 'BatchUpdateFindings'],
  [/^POST \/accounts$/, 'securityhub', 'EnableSecurityHub'],
  [/^GET \/accounts$/, 'securityhub', 'DescribeHub'],
];

/** Identifies the operation from the protocol: JSON target header, query `Action`, or REST path. */
/** A LookupEvents call, with its lookup attribute and the Region its signature names. */
function lookupCall(req: IncomingMessage, body: Buffer): RecordedCall {
  let attribute: string | undefined;
  try {
    const request = JSON.parse(body.toString('utf8') || '{}') as {
      LookupAttributes?: { AttributeKey?: string }[];
    };
    attribute = request.LookupAttributes?.[0]?.AttributeKey;
  } catch {
    attribute = undefined;
  }
  const auth = String(req.headers.authorization ?? '');
  const region = /Credential=[^/]+\/[^/]+\/([^/]+)\//.exec(auth)?.[1] ?? 'unknown';
  return { service: 'cloudtrail', operation: 'LookupEvents', lookup: { attribute, region } };
}

export function identify(req: IncomingMessage, body: Buffer): RecordedCall {
  const target = req.headers['x-amz-target'];
  if (typeof target === 'string') {
    // `AWSEvents.PutEvents`, `AmazonSQS.SendMessage`, `com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.DescribeTrails`
    const dot = target.lastIndexOf('.');
    const prefix = target.slice(0, Math.max(dot, 0));
    const operation = dot < 0 ? target : target.slice(dot + 1);
    if (/cloudtrail/i.test(prefix) && operation === 'LookupEvents') return lookupCall(req, body);
    const service = /events/i.test(prefix)
      ? 'events'
      : /sqs/i.test(prefix)
        ? 'sqs'
        : /cloudtrail/i.test(prefix)
          ? 'cloudtrail'
          : /organizations/i.test(prefix)
            ? 'organizations'
            : prefix || 'unknown';
    return { service, operation };
  }
  const text = body.toString('utf8');
  const action =
    /(?:^|&)Action=([A-Za-z]+)/.exec(text)?.[1] ?? /[?&]Action=([A-Za-z]+)/.exec(req.url ?? '')?.[1];
  const auth = String(req.headers.authorization ?? '');
  const scope = /Credential=[^/]+\/[^/]+\/[^/]+\/([^/]+)\//.exec(auth)?.[1] ?? 'unknown';
  if (action) return { service: scope, operation: action };
  const path = (req.url ?? '').split('?')[0] ?? '';
  for (const [pattern, service, operation] of REST_OPERATIONS) {
    if (pattern.test(`${req.method} ${path}`)) return { service, operation };
  }
  return { service: scope, operation: `${req.method} ${path}` };
}

const matches = (fault: Pick<Fault, 'operation' | 'when'>, call: RecordedCall): boolean =>
  (fault.operation === call.operation || fault.operation === `${call.service}.${call.operation}`) &&
  (fault.when === undefined || fault.when());

/** Security Hub's rule for BatchImportFindings: keeps only findings newer than what it holds for their Id. */
function dropStaleFindings(body: Buffer, newest: Map<string, number>): Buffer {
  const request = JSON.parse(body.toString('utf8')) as { Findings?: { Id?: string; UpdatedAt?: string }[] };
  const kept = (request.Findings ?? []).filter((finding) => {
    const key = String(finding.Id);
    const updatedAt = Date.parse(String(finding.UpdatedAt));
    if (updatedAt <= (newest.get(key) ?? Number.NEGATIVE_INFINITY)) return false;
    newest.set(key, updatedAt);
    return true;
  });
  return Buffer.from(JSON.stringify({ ...request, Findings: kept }));
}

/** A token bucket: full at the start, refilled continuously, never above `burst`. */
function tokenBucket(limit: RateLimit, now: () => number): () => boolean {
  let tokens = limit.burst;
  let last = now();
  return () => {
    const at = now();
    tokens = Math.min(limit.burst, tokens + ((at - last) / 1000) * limit.perSecond);
    last = at;
    if (tokens < 1) return false;
    tokens -= 1;
    return true;
  };
}

function sendError(res: ServerResponse, call: RecordedCall, status: number, code: string, message: string) {
  const json = ['securityhub', 'events', 'cloudtrail', 'organizations'].includes(call.service);
  res.writeHead(status, {
    'content-type': json ? 'application/x-amz-json-1.1' : 'text/xml',
    'x-amzn-errortype': code,
    'x-amzn-requestid': 'proxy',
  });
  res.end(
    json
      ? JSON.stringify({ __type: code, message })
      : `<ErrorResponse><Error><Type>Sender</Type><Code>${code}</Code><Message>${message}</Message></Error><RequestId>proxy</RequestId></ErrorResponse>`,
  );
}

type Filters = Record<string, { Value?: string; Comparison?: string }[] | undefined>;

/** The stored findings a GetFindings asks for by `Id` (and `ProductArn`), or undefined when it filters on no Id. */
async function findingsById(
  upstream: string,
  req: IncomingMessage,
  body: Buffer,
): Promise<unknown[] | undefined> {
  const filters = (JSON.parse(body.toString('utf8') || '{}') as { Filters?: Filters }).Filters ?? {};
  const equal = (name: string) =>
    filters[name]?.filter((filter) => filter.Comparison === 'EQUALS').map((filter) => filter.Value);
  const ids = equal('Id');
  if (ids === undefined || ids.length === 0) return undefined;
  const productArns = equal('ProductArn');
  const found: unknown[] = [];
  let nextToken: string | undefined;
  do {
    const response = await fetch(new URL('/findings', upstream), {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: String(req.headers.authorization ?? '') },
      body: JSON.stringify({ MaxResults: 100, ...(nextToken ? { NextToken: nextToken } : {}) }),
    });
    const page = (await response.json()) as {
      Findings?: { Id?: string; ProductArn?: string }[];
      NextToken?: string;
    };
    for (const finding of page.Findings ?? []) {
      const productOk = productArns === undefined || productArns.includes(finding.ProductArn);
      if (ids.includes(finding.Id) && productOk) found.push(finding);
    }
    nextToken = page.NextToken || undefined;
  } while (nextToken !== undefined);
  return found;
}

/** A TagUser body whose keys take the letters of the user's tags that match them case-insensitively. */
async function withStoredTagKeys(upstream: string, req: IncomingMessage, body: Buffer): Promise<Buffer> {
  const form = new URLSearchParams(body.toString('utf8'));
  const userName = form.get('UserName') ?? '';
  const response = await fetch(upstream, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: String(req.headers.authorization ?? ''),
    },
    body: new URLSearchParams({
      Action: 'ListUserTags',
      Version: '2010-05-08',
      UserName: userName,
    }).toString(),
  });
  const stored = [...(await response.text()).matchAll(/<Key>([^<]*)<\/Key>/g)].map(
    (match) => match[1] as string,
  );
  for (const [name, value] of [...form.entries()]) {
    if (!/^Tags\.member\.\d+\.Key$/.test(name)) continue;
    const existing = stored.find((key) => key.toLowerCase() === value.toLowerCase());
    if (existing !== undefined) form.set(name, existing);
  }
  return Buffer.from(form.toString());
}

function countBy(calls: readonly RecordedCall[]): Record<string, number> {
  return calls.reduce<Record<string, number>>((acc, c) => {
    const key = `${c.service}.${c.operation}`;
    acc[key] = (acc[key] ?? 0) + 1;
    return acc;
  }, {});
}

export async function startAwsProxy(upstream: string, options: AwsProxyOptions = {}): Promise<AwsProxy> {
  const target = new URL(upstream);
  const calls: RecordedCall[] = [];
  let faults: { fault: Fault; left: number }[] = [];
  const now = options.now ?? Date.now;
  const limits = (options.rateLimits ?? []).map((limit) => ({ limit, take: tokenBucket(limit, now) }));
  let newestUpdatedAt: Map<string, number> | undefined;
  let served: readonly TrailRecord[] = [];
  const trail: TrailRecord[] = [];
  let keyUpdateCaller: (() => Caller | undefined) | undefined;
  let tagKeysIgnoreCase = false;

  const server: Server = createServer(async (req, res) => {
    let body = await readBody(req);
    const call = identify(req, body);
    // Moto's own control API is not AWS traffic.
    const aws = !(req.url ?? '').startsWith('/moto-api');
    const limited = aws ? limits.find((entry) => matches(entry.limit, call)) : undefined;
    if (limited !== undefined && !limited.take()) {
      calls.push({ ...call, throttled: true });
      sendError(res, call, 429, limited.limit.code ?? 'ThrottlingException', 'Rate exceeded');
      return;
    }
    if (aws) calls.push(call);
    const active = faults.find(
      (f) =>
        f.left > 0 &&
        matches(f.fault, call) &&
        (f.fault.bodyIncludes === undefined || body.toString('utf8').includes(f.fault.bodyIncludes)),
    );
    if (active) {
      active.left -= 1;
      if (active.fault.delayMs) await new Promise((resolve) => setTimeout(resolve, active.fault.delayMs));
      if (active.fault.status !== undefined) {
        const code = active.fault.code ?? (active.fault.status === 429 ? 'Throttling' : 'InternalFailure');
        sendError(res, call, active.fault.status, code, 'injected fault');
        return;
      }
      await active.fault.hook?.();
    }
    if (aws && options.latencyMs) await new Promise((resolve) => setTimeout(resolve, options.latencyMs));
    if (options.filterFindingsById && call.operation === 'GetFindings' && call.service === 'securityhub') {
      const findings = await findingsById(upstream, req, body);
      if (findings !== undefined) {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ Findings: findings }));
        return;
      }
    }
    if (aws && call.service === 'cloudtrail' && call.operation === 'LookupEvents') {
      // Each Region's event history holds the events recorded there, as CloudTrail's does.
      const region = call.lookup?.region;
      const here = [...served, ...trail].filter(
        (record) =>
          typeof record.awsRegion !== 'string' || region === undefined || record.awsRegion === region,
      );
      const answer = lookupEvents(here, JSON.parse(body.toString('utf8') || '{}'));
      res.writeHead(answer.status, {
        'content-type': 'application/x-amz-json-1.1',
        ...(answer.status === 200 ? {} : { 'x-amzn-errortype': String(answer.body.__type) }),
      });
      res.end(JSON.stringify(answer.body));
      return;
    }
    const keyUpdate =
      call.operation === 'UpdateAccessKey' && keyUpdateCaller !== undefined
        ? new URLSearchParams(body.toString('utf8'))
        : undefined;
    const updater = keyUpdate === undefined ? undefined : keyUpdateCaller?.();
    if (tagKeysIgnoreCase && call.operation === 'TagUser') {
      body = await withStoredTagKeys(upstream, req, body);
    }
    if (newestUpdatedAt !== undefined && call.operation === 'BatchImportFindings') {
      body = dropStaleFindings(body, newestUpdatedAt);
    }
    const forward = httpRequest(
      {
        host: target.hostname,
        port: target.port,
        method: req.method,
        path: req.url,
        headers: { ...req.headers, host: target.host, 'content-length': String(body.length) },
      },
      (upstreamRes) => {
        if (keyUpdate !== undefined && updater !== undefined && upstreamRes.statusCode === 200) {
          trail.push(
            updateAccessKeyRecord({
              caller: updater,
              userName: keyUpdate.get('UserName') ?? '',
              accessKeyId: keyUpdate.get('AccessKeyId') ?? '',
              status: keyUpdate.get('Status') === 'Active' ? 'Active' : 'Inactive',
              eventTime: new Date(),
            }),
          );
        }
        const rewrite = active?.fault.rewriteResponse;
        if (rewrite === undefined) {
          res.writeHead(upstreamRes.statusCode ?? 502, upstreamRes.headers);
          upstreamRes.pipe(res);
          return;
        }
        void readBody(upstreamRes).then((answer) => {
          const rewritten = Buffer.from(rewrite(answer.toString('utf8')));
          res.writeHead(upstreamRes.statusCode ?? 502, {
            ...upstreamRes.headers,
            'content-length': String(rewritten.length),
          });
          res.end(rewritten);
        });
      },
    );
    forward.on('error', (error) => {
      res.writeHead(502);
      res.end(String(error));
    });
    forward.end(body);
  });

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (typeof address !== 'object' || address === null) throw new Error('proxy has no address');

  return {
    endpoint: `http://127.0.0.1:${address.port}`,
    calls,
    count: (operation) =>
      operation === undefined ? calls.length : calls.filter((c) => matches({ operation }, c)).length,
    countsByOperation: () => countBy(calls),
    lookups: (attribute) =>
      calls.flatMap((c) =>
        c.lookup !== undefined && c.lookup.attribute === attribute ? [{ region: c.lookup.region }] : [],
      ),
    throttledByOperation: () => countBy(calls.filter((c) => c.throttled)),
    reset: () => {
      calls.length = 0;
    },
    inject: (fault) => {
      faults.push({ fault, left: fault.times ?? Number.POSITIVE_INFINITY });
    },
    clearFaults: () => {
      faults = [];
      newestUpdatedAt = undefined;
      served = [];
      tagKeysIgnoreCase = false;
    },
    caseInsensitiveTagKeys: () => {
      tagKeysIgnoreCase = true;
    },
    enforceUpdatedAt: () => {
      newestUpdatedAt ??= new Map();
    },
    serveLookupEvents: (records) => {
      served = records as readonly TrailRecord[];
    },
    trail,
    recordKeyUpdates: (caller) => {
      keyUpdateCaller = caller;
    },
    clearTrail: () => {
      trail.length = 0;
      keyUpdateCaller = undefined;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
