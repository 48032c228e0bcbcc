/**
 * An HTTP proxy in front of moto that records which AWS operation every request was, and can inject faults
 * (an HTTP error with an AWS error body, or a delay). It counts what reaches the emulator, not what the code says.
 */

import { createServer, request as httpRequest, type IncomingMessage, type Server } from 'node:http';

export interface RecordedCall {
  readonly service: string;
  readonly operation: string;
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
}

export interface AwsProxy {
  readonly endpoint: string;
  readonly calls: RecordedCall[];
  count(operation?: string): number;
  countsByOperation(): Record<string, number>;
  reset(): void;
  inject(fault: Fault): void;
  clearFaults(): void;
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
export function identify(req: IncomingMessage, body: Buffer): RecordedCall {
  const target = req.headers['x-amz-target'];
  if (typeof target === 'string') {
    // `AWSEvents.PutEvents`, `AmazonSQS.SendMessage`, `com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.DescribeTrails`
    const dot = target.lastIndexOf('.');
    const prefix = target.slice(0, Math.max(dot, 0));
    const operation = dot < 0 ? target : target.slice(dot + 1);
    const service = /events/i.test(prefix)
      ? 'events'
      : /sqs/i.test(prefix)
        ? 'sqs'
        : /cloudtrail/i.test(prefix)
          ? 'cloudtrail'
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

const matches = (fault: Fault, call: RecordedCall): boolean =>
  fault.operation === call.operation || fault.operation === `${call.service}.${call.operation}`;

export async function startAwsProxy(upstream: string): Promise<AwsProxy> {
  const target = new URL(upstream);
  const calls: RecordedCall[] = [];
  let faults: { fault: Fault; left: number }[] = [];

  const server: Server = createServer(async (req, res) => {
    const body = await readBody(req);
    const call = identify(req, body);
    // Moto's own control API is not AWS traffic.
    if (!(req.url ?? '').startsWith('/moto-api')) calls.push(call);
    const active = faults.find((f) => f.left > 0 && matches(f.fault, call));
    if (active) {
      active.left -= 1;
      if (active.fault.delayMs) await new Promise((resolve) => setTimeout(resolve, active.fault.delayMs));
      if (active.fault.status !== undefined) {
        const code = active.fault.code ?? (active.fault.status === 429 ? 'Throttling' : 'InternalFailure');
        const json = ['securityhub', 'events', 'cloudtrail'].includes(call.service);
        res.writeHead(active.fault.status, {
          'content-type': json ? 'application/x-amz-json-1.1' : 'text/xml',
          'x-amzn-errortype': code,
          'x-amzn-requestid': 'fault-injected',
        });
        res.end(
          json
            ? JSON.stringify({ __type: code, message: 'injected fault' })
            : `<ErrorResponse><Error><Type>Sender</Type><Code>${code}</Code><Message>injected fault</Message></Error><RequestId>fault-injected</RequestId></ErrorResponse>`,
        );
        return;
      }
    }
    const forward = httpRequest(
      {
        host: target.hostname,
        port: target.port,
        method: req.method,
        path: req.url,
        headers: { ...req.headers, host: target.host },
      },
      (upstreamRes) => {
        res.writeHead(upstreamRes.statusCode ?? 502, upstreamRes.headers);
        upstreamRes.pipe(res);
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
    countsByOperation: () =>
      calls.reduce<Record<string, number>>((acc, c) => {
        const key = `${c.service}.${c.operation}`;
        acc[key] = (acc[key] ?? 0) + 1;
        return acc;
      }, {}),
    reset: () => {
      calls.length = 0;
    },
    inject: (fault) => {
      faults.push({ fault, left: fault.times ?? Number.POSITIVE_INFINITY });
    },
    clearFaults: () => {
      faults = [];
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
