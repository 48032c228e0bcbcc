/**
 * `npm run demo -- --organization`: one central KeyWarden for a central account and two member accounts on moto.
 *
 * Each member gets what the member stack deploys (the detector's rule on its default bus, targeting the central
 * bus, and the member role); the central account gets the organization bus, its rule and the detector's queue. A
 * key change in a member travels member rule → central bus → queue → the real detector handler, which assumes the
 * member role and imports the finding into the member's own hub. Then, with REMEDIATION_MODE=deactivate, the
 * detector deactivates a surplus key inside one member and recognises its own call there when it comes back.
 * Last, the sweep's coverage check: both members seen, then one member's forwarding rule disabled and reported.
 */

import { Logger } from '@aws-lambda-powertools/logger';
import {
  CreateEventBusCommand,
  DisableRuleCommand,
  EventBridgeClient,
  PutEventsCommand,
  PutPermissionCommand,
  PutRuleCommand,
  PutTargetsCommand,
} from '@aws-sdk/client-eventbridge';
import {
  CreateAccessKeyCommand,
  CreateRoleCommand,
  IAMClient,
  ListAccessKeysCommand,
} from '@aws-sdk/client-iam';
import { GetFindingsCommand, SecurityHubClient } from '@aws-sdk/client-securityhub';
import { findingIdFor } from '../../functions/core/finding.ts';
import { FORWARDING_RULE_NAME } from '../../functions/shared/constants.ts';
import { type KeyCall, putEventsEntry } from './cloudtrail.ts';
import { clientConfig, createQueue, EMULATOR_REGION, type Emulator, runId } from './emulator.ts';
import { createUser } from './seed.ts';
import type { synthesizedKeyEventPattern } from './synth.ts';

const CENTRAL = '123456789012';
const MEMBERS = { a: '111111111111', b: '222222222222' } as const;
const ORGANIZATION_ID = 'o-keywardendemo';
const MEMBER_ROLE_NAME = 'KeyWardenMember';
const DETECTOR_ROLE_ARN = `arn:aws:iam::${CENTRAL}:role/keywarden-detector`;

type Out = (line?: string) => void;
type Handler = (
  event: unknown,
  context: { invokedFunctionArn: string; awsRequestId: string },
) => Promise<unknown>;

/** Sends every request of `client` to `accountId` of the one moto server (moto's `x-moto-account-id`). */
function inAccount<C extends IAMClient | EventBridgeClient | SecurityHubClient>(
  client: C,
  accountId: string,
): C {
  // The three clients' middleware stacks differ only in their input and output types.
  (client.middlewareStack as IAMClient['middlewareStack']).add(
    (next) => async (args) => {
      const request = args.request as { headers?: Record<string, string> };
      if (request.headers) request.headers['x-moto-account-id'] = accountId;
      return next(args);
    },
    { step: 'build', name: 'motoAccount' },
  );
  return client;
}

interface AccountClients {
  readonly accountId: string;
  readonly iam: IAMClient;
  readonly eventBridge: EventBridgeClient;
  readonly securityHub: SecurityHubClient;
}

function clientsOf(endpoint: string, accountId: string): AccountClients {
  const config = clientConfig(endpoint);
  return {
    accountId,
    iam: inAccount(new IAMClient(config), accountId),
    eventBridge: inAccount(new EventBridgeClient(config), accountId),
    securityHub: inAccount(new SecurityHubClient(config), accountId),
  };
}

export class OrganizationDemoError extends Error {
  constructor(readonly mismatches: readonly string[]) {
    super(`${mismatches.length} outcome(s) differ from what the demo expects:\n  ${mismatches.join('\n  ')}`);
    this.name = 'OrganizationDemoError';
  }
}

export async function runOrganizationDemo(
  emulator: Emulator,
  patternPromise: ReturnType<typeof synthesizedKeyEventPattern>,
  options: { readonly out: Out; readonly verbose: boolean },
): Promise<void> {
  const { out } = options;
  const started = Date.now();
  const id = runId();
  const central = clientsOf(emulator.endpoint, CENTRAL);
  const members = [clientsOf(emulator.endpoint, MEMBERS.a), clientsOf(emulator.endpoint, MEMBERS.b)] as const;
  const { pattern } = await patternPromise;

  // Central account: the organization bus (PutEvents from the organization only), its rule, the detector's queue.
  const busName = `keywarden-organization-${id}`;
  const { EventBusArn: busArn = '' } = await central.eventBridge.send(
    new CreateEventBusCommand({ Name: busName }),
  );
  await central.eventBridge.send(
    new PutPermissionCommand({
      EventBusName: busName,
      StatementId: 'OrganizationPutEvents',
      Action: 'events:PutEvents',
      Principal: '*',
      Condition: { Type: 'StringEquals', Key: 'aws:PrincipalOrgID', Value: ORGANIZATION_ID },
    }),
  );
  const queue = await createQueue(emulator.endpoint, `keywarden-detector-${id}`);
  await central.eventBridge.send(
    new PutRuleCommand({ Name: busName, EventBusName: busName, EventPattern: JSON.stringify(pattern) }),
  );
  await central.eventBridge.send(
    new PutTargetsCommand({
      Rule: busName,
      EventBusName: busName,
      Targets: [{ Id: 'queue', Arn: queue.arn }],
    }),
  );
  out(`Central account ${CENTRAL}: bus ${busName} (PutEvents from ${ORGANIZATION_ID} only) → detector queue`);

  // Each member: what the member stack deploys, and one user with one key.
  const userOf = (member: AccountClients): string =>
    `${member.accountId === MEMBERS.a ? 'alice' : 'bob'}-${id}`;
  for (const member of members) {
    await member.iam
      .send(
        new CreateRoleCommand({
          RoleName: MEMBER_ROLE_NAME,
          AssumeRolePolicyDocument: JSON.stringify({
            Version: '2012-10-17',
            Statement: [{ Effect: 'Allow', Principal: { AWS: DETECTOR_ROLE_ARN }, Action: 'sts:AssumeRole' }],
          }),
        }),
      )
      .catch((error: Error) => {
        if (error.name !== 'EntityAlreadyExistsException') throw error;
      });
    // The member stack's fixed name, which the sweep's coverage check reads; enabled again if an earlier run left it off.
    const rule = FORWARDING_RULE_NAME;
    await member.eventBridge.send(
      new PutRuleCommand({ Name: rule, EventPattern: JSON.stringify(pattern), State: 'ENABLED' }),
    );
    await member.eventBridge.send(
      new PutTargetsCommand({
        Rule: rule,
        Targets: [
          {
            Id: 'central-bus',
            Arn: busArn,
            RoleArn: `arn:aws:iam::${member.accountId}:role/keywarden-forward-${id}`,
          },
        ],
      }),
    );
    await createUser(member.iam, { userName: userOf(member), keys: 1 });
    out(
      `Member account ${member.accountId}: rule on the default bus → ${busName}; role ${MEMBER_ROLE_NAME}; user ${userOf(member)} with one key`,
    );
  }
  out();

  const { createDetector } = await import('../../functions/detector/handler.ts');
  const { createClients } = await import('../../functions/adapters/clients.ts');
  const { loadConfig } = await import('../../functions/shared/config.ts');
  const detector = (mode: 'off' | 'deactivate'): Handler =>
    createDetector({
      config: loadConfig({
        ...process.env,
        REMEDIATION_MODE: mode,
        OWN_ROLE_ARNS: DETECTOR_ROLE_ARN,
        MEMBER_ROLE_NAME: MEMBER_ROLE_NAME,
        MEMBER_ACCOUNT_IDS: Object.values(MEMBERS).join(','),
      }),
      clients: createClients(),
      logger: new Logger({
        serviceName: `keywarden-demo-${mode}`,
        logLevel: options.verbose ? 'INFO' : 'SILENT',
      }),
    });
  const context = {
    invokedFunctionArn: `arn:aws:lambda:${EMULATOR_REGION}:${CENTRAL}:function:keywarden-detector`,
    awsRequestId: 'demo-organization',
  };

  const mismatches: string[] = [];
  let sequence = 0;
  /** Puts the CloudTrail event on the member's default bus and hands what reaches the central queue to `handler`. */
  async function deliver(
    handler: Handler,
    member: AccountClients,
    call: KeyCall,
    expected: string,
  ): Promise<void> {
    await member.eventBridge.send(new PutEventsCommand({ Entries: [putEventsEntry(call, 'default')] }));
    let bodies: string[] = [];
    for (let attempt = 0; attempt < 100 && bodies.length === 0; attempt++) {
      bodies = await queue.drain();
      if (bodies.length === 0) await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const label = `  ${member.accountId}  ${call.eventName.padEnd(16)}${call.userName.padEnd(14)}`;
    if (bodies.length !== 1) {
      out(`${label}${bodies.length} event(s) reached the central queue, expected 1`);
      mismatches.push(`${member.accountId} ${call.eventName}: ${bodies.length} deliveries`);
      return;
    }
    const event = JSON.parse(bodies[0] as string) as { account: string };
    // moto re-stamps an event forwarded to another account's bus with the receiving account; EventBridge keeps
    // the sender's (aws-facts: "The forwarded event keeps its original account"). The demo sent it from
    // `member`, so it puts that back; the detector skips an event whose envelope and record disagree.
    event.account = member.accountId;
    const result = (await handler(event, context)) as {
      status: string;
      reason?: string;
      verdict?: string;
      action?: string;
    };
    const outcome =
      result.status === 'skipped' ? `skipped/${result.reason}` : `${result.verdict}/${result.action}`;
    const [first, second] = outcome.split('/');
    out(`${label}→ ${first === 'skipped' ? `skipped (${second})` : `${first}, action ${second}`}`);
    if (outcome !== expected)
      mismatches.push(`${member.accountId} ${call.eventName}: ${outcome}, expected ${expected}`);
  }

  const call = (
    member: AccountClients,
    fields: Pick<KeyCall, 'eventName' | 'accessKeyId'> & Partial<KeyCall>,
  ): KeyCall => ({
    userName: userOf(member),
    accountId: member.accountId,
    region: EMULATOR_REGION,
    // Self-service: each user makes its own second key (a key minted by another principal is a threat finding).
    actorUserName: userOf(member),
    eventTime: new Date(),
    eventId: `00000000-0000-4000-8000-${id.padStart(6, '0')}${String(++sequence).padStart(6, '0')}`,
    ...fields,
  });

  out('── Pass 1: REMEDIATION_MODE=off: each member user creates a second key ──');
  const off = detector('off');
  const created = new Map<string, KeyCall>();
  for (const member of members) {
    const { AccessKey } = await member.iam.send(new CreateAccessKeyCommand({ UserName: userOf(member) }));
    const sent = call(member, { eventName: 'CreateAccessKey', accessKeyId: AccessKey?.AccessKeyId ?? '' });
    created.set(member.accountId, sent);
    await deliver(off, member, sent, 'violation/none');
  }
  out();
  await printHubs(out, central, members, userOf, mismatches, { expectedInMembers: 1 });

  out();
  out(`── Pass 2: REMEDIATION_MODE=deactivate: ${members[1].accountId}'s event delivered again ──`);
  const deactivate = detector('deactivate');
  const memberB = members[1];
  const before = await keysOf(memberB, userOf(memberB));
  await deliver(deactivate, memberB, created.get(memberB.accountId) as KeyCall, 'violation/deactivated');
  const after = await keysOf(memberB, userOf(memberB));
  const switchedOff = Object.keys(after).filter(
    (key) => before[key] === 'Active' && after[key] === 'Inactive',
  );
  if (switchedOff.length !== 1)
    mismatches.push(`${switchedOff.length} keys deactivated in ${memberB.accountId}, expected 1`);
  out(
    `  KeyWarden's own UpdateAccessKey in ${memberB.accountId}, made through ${MEMBER_ROLE_NAME}, comes back too:`,
  );
  await deliver(
    deactivate,
    memberB,
    call(memberB, {
      eventName: 'UpdateAccessKey',
      accessKeyId: switchedOff[0] ?? '',
      status: 'Inactive',
      actorUserName: 'keywarden-detector',
      actorRoleArn: `arn:aws:iam::${memberB.accountId}:role/${MEMBER_ROLE_NAME}`,
    }),
    'skipped/own-remediation',
  );
  out();
  out(`Access keys of ${userOf(memberB)} in ${memberB.accountId}:`);
  for (const [key, status] of Object.entries(after)) out(`  ${key} ${status}`);
  out();
  await printHubs(out, central, members, userOf, mismatches, { expectedInMembers: 1 });
  out();

  await coveragePass(out, {
    members,
    busArn,
    mismatches,
  });
  out();

  for (const clients of [central, ...members]) {
    clients.iam.destroy();
    clients.eventBridge.destroy();
    clients.securityHub.destroy();
  }
  if (mismatches.length > 0) throw new OrganizationDemoError(mismatches);
  out(`Done in ${((Date.now() - started) / 1000).toFixed(1)} s: every outcome as expected.`);
}

/**
 * Pass 3: the sweep's coverage check of each member, then member A's admin disables its forwarding rule: A's events
 * no longer reach the central bus, and the next check reports A FAILED in A's own hub (MembersBlind 1).
 */
async function coveragePass(
  out: Out,
  world: {
    readonly members: readonly [AccountClients, AccountClients];
    readonly busArn: string;
    readonly mismatches: string[];
  },
): Promise<void> {
  const { members, busArn, mismatches } = world;
  const [{ createAccountClients }, { createClients }, { createFindingsPort }, coverage] = await Promise.all([
    import('../../functions/adapters/member-accounts.ts'),
    import('../../functions/adapters/clients.ts'),
    import('../../functions/adapters/securityhub.ts'),
    import('../../functions/sweep/coverage.ts'),
  ]);
  const own = { accountId: CENTRAL, partition: 'aws', region: EMULATOR_REGION };
  const clients = createClients();
  const sleep = async () => undefined;
  const accountClients = createAccountClients({
    own: clients,
    memberRoleName: MEMBER_ROLE_NAME,
    sessionName: 'keywarden-sweep',
  });
  const checkAll = async (expected: Readonly<Record<string, string>>) => {
    let blind = 0;
    for (const member of members) {
      const target = { account: { ...own, accountId: member.accountId }, via: 'member-role' as const };
      const memberClients = await accountClients.clientsFor(target);
      const findings = createFindingsPort(memberClients.securityHub, { ...target.account, sleep });
      const access = await coverage.memberAccessOf(accountClients, target, { ports: { findings } });
      const report = await coverage.checkCoverage(
        {
          own,
          ownFindings: createFindingsPort(clients.securityHub, { ...own, sleep }),
          clock: () => new Date(),
        },
        target.account,
        access,
        coverage.expectedForwarding(busArn),
      );
      if (report.health.status === 'blind') blind += 1;
      const reason = report.finding.Compliance?.StatusReasons?.[0]?.ReasonCode ?? '';
      out(
        `  ${member.accountId}  coverage finding in ${report.reportedIn}'s hub: ${report.finding.Compliance?.Status} ${reason}: ${report.finding.Title}`,
      );
      if (reason !== expected[member.accountId])
        mismatches.push(`${member.accountId} coverage: ${reason}, expected ${expected[member.accountId]}`);
    }
    out(`  MembersBlind = ${blind}`);
  };
  const [memberA, memberB] = members;
  out("── Pass 3: the sweep's coverage check: is any member blind? ──");
  await checkAll({ [memberA.accountId]: 'EVENTS_FORWARDED', [memberB.accountId]: 'EVENTS_FORWARDED' });
  out(`  An admin of ${memberA.accountId} disables ${FORWARDING_RULE_NAME}:`);
  await memberA.eventBridge.send(new DisableRuleCommand({ Name: FORWARDING_RULE_NAME }));
  // On AWS a disabled rule forwards nothing (moto still delivers through one, so the demo sends no event here).
  out(`  from now on no IAM event of ${memberA.accountId} reaches the central bus, and nothing else says so`);
  await checkAll({ [memberA.accountId]: 'RULE_DISABLED', [memberB.accountId]: 'EVENTS_FORWARDED' });
  for (const client of [clients.iam, clients.securityHub, clients.eventBridge]) client.destroy();
}

async function keysOf(member: AccountClients, userName: string): Promise<Record<string, string>> {
  const { AccessKeyMetadata = [] } = await member.iam.send(new ListAccessKeysCommand({ UserName: userName }));
  return Object.fromEntries(AccessKeyMetadata.map((key) => [key.AccessKeyId ?? '', key.Status ?? '']));
}

/** Prints each hub's KeyWarden findings for the members' users: each member's in its own hub, none centrally. */
async function printHubs(
  out: Out,
  central: AccountClients,
  members: readonly AccountClients[],
  userOf: (member: AccountClients) => string,
  mismatches: string[],
  expectation: { readonly expectedInMembers: number },
): Promise<void> {
  const ids = new Set(members.map((member) => findingIdFor(member.accountId, userOf(member))));
  out('Findings in each account’s Security Hub:');
  for (const hub of [central, ...members]) {
    const findings = [];
    let nextToken: string | undefined;
    do {
      const page = await hub.securityHub.send(
        new GetFindingsCommand({ MaxResults: 100, NextToken: nextToken }),
      );
      // Emulators ignore filters: keep this run's findings.
      findings.push(...(page.Findings ?? []).filter((finding) => ids.has(finding.Id ?? '')));
      nextToken = page.NextToken || undefined;
    } while (nextToken !== undefined);
    const role = hub === central ? 'central' : 'member ';
    if (findings.length === 0) out(`  ${hub.accountId} (${role})  none`);
    for (const finding of findings) {
      const deactivated = finding.ProductFields?.['keywarden/detector/deactivatedKeys'];
      out(
        `  ${hub.accountId} (${role})  ${(finding.Compliance?.Status ?? '?').padEnd(7)} AwsAccountId ${finding.AwsAccountId}  ${finding.Title}${deactivated ? `; deactivated ${deactivated}` : ''}`,
      );
      if (finding.AwsAccountId !== hub.accountId)
        mismatches.push(
          `finding ${finding.Id} in ${hub.accountId}'s hub names account ${finding.AwsAccountId}`,
        );
    }
    const expected = hub === central ? 0 : expectation.expectedInMembers;
    if (findings.length !== expected)
      mismatches.push(`${findings.length} finding(s) in ${hub.accountId}'s hub, expected ${expected}`);
  }
}
