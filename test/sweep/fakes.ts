/** In-memory stand-ins for the sweep's ports, for fast engine tests that count calls. */

import type { IamPort } from '../../functions/adapters/iam.ts';
import type { Notification, NotifierPort } from '../../functions/adapters/notify.ts';
import type { FindingsPort } from '../../functions/adapters/securityhub.ts';
import type { Finding } from '../../functions/core/finding.ts';
import type { AccessKey, AccountContext, UserSnapshot } from '../../functions/core/types.ts';
import type { EngineSettings } from '../../functions/engine/check-user.ts';
import { monotonicClock } from '../../functions/shared/clock.ts';
import type { SweepDeps } from '../../functions/sweep/engine.ts';
import type { AccountIamPort } from '../../functions/sweep/iam-account.ts';

export const ACCOUNT: AccountContext = { accountId: '123456789012', partition: 'aws', region: 'us-east-1' };

export const SETTINGS: EngineSettings = {
  remediationMode: 'off',
  keepKey: 'newest',
  exemptTag: 'keywarden:exempt',
  rotationGraceHours: 0,
  consistencyRetries: 0,
  importFindings: true,
};

const REPORT_HEADER =
  'user,arn,access_key_1_active,access_key_1_last_rotated,access_key_1_last_used_date,access_key_1_last_used_region,access_key_1_last_used_service,access_key_2_active,access_key_2_last_rotated,access_key_2_last_used_date,access_key_2_last_used_region,access_key_2_last_used_service';

export interface FakeUserSpec {
  readonly activeKeys?: number;
  readonly inactiveKeys?: number;
  readonly tags?: Record<string, string>;
  readonly path?: string;
}

export class FakeAccount {
  readonly users = new Map<string, UserSnapshot>();
  readonly findings = new Map<string, Finding>();
  readonly calls = {
    readUser: 0,
    listKeys: 0,
    lastUsed: 0,
    keyOwner: 0,
    deactivate: 0,
    reactivate: 0,
    listUsers: 0,
    report: 0,
    findFindings: 0,
    getFinding: 0,
  };
  readonly importBatches: number[] = [];
  readonly notifications: Notification[] = [];
  /** Users whose reads throw. */
  readonly broken = new Set<string>();
  /** Import calls (1-based) that throw. */
  readonly failingImports = new Set<number>();
  /** Replaces the generated report CSV. */
  reportCsv: string | undefined;
  private keySeq = 0;

  addUser(userName: string, spec: FakeUserSpec = {}): UserSnapshot {
    const path = spec.path ?? '/';
    const keys: AccessKey[] = [];
    const make = (status: string): AccessKey => {
      this.keySeq++;
      return {
        accessKeyId: `AKIAFAKE${String(this.keySeq).padStart(12, '0')}`,
        status,
        createDate: new Date(Date.UTC(2024, 0, 1, 0, 0, this.keySeq)),
      };
    };
    for (let i = 0; i < (spec.activeKeys ?? 0); i++) keys.push(make('Active'));
    for (let i = 0; i < (spec.inactiveKeys ?? 0); i++) keys.push(make('Inactive'));
    const snapshot: UserSnapshot = {
      user: {
        userName,
        userId: `AIDA${userName.toUpperCase()}`,
        arn: `arn:aws:iam::${ACCOUNT.accountId}:user${path}${userName}`,
        path,
        createDate: new Date('2023-01-01T00:00:00Z'),
        tags: spec.tags ?? {},
      },
      keys,
    };
    this.users.set(userName, snapshot);
    return snapshot;
  }

  reportFromState(): string {
    const lines = [REPORT_HEADER];
    for (const { user, keys } of this.users.values()) {
      const slot = (key: AccessKey | undefined): string =>
        key === undefined
          ? 'false,N/A,N/A,N/A,N/A'
          : `${key.status === 'Active'},${key.createDate.toISOString()},N/A,N/A,N/A`;
      lines.push(`${user.userName},${user.arn},${slot(keys[0])},${slot(keys[1])}`);
    }
    return `${lines.join('\n')}\n`;
  }

  iam(): IamPort {
    return {
      readUser: async (userName) => {
        this.calls.readUser++;
        if (this.broken.has(userName)) throw new Error(`read of ${userName} failed`);
        return this.users.get(userName);
      },
      listKeys: async (userName) => {
        this.calls.listKeys++;
        if (this.broken.has(userName)) throw new Error(`listing of ${userName} failed`);
        const found = this.users.get(userName);
        return found === undefined ? undefined : [...found.keys];
      },
      lastUsed: async () => {
        this.calls.lastUsed++;
        return { date: undefined, serviceName: undefined, region: undefined };
      },
      keyOwner: async (accessKeyId) => {
        this.calls.keyOwner++;
        for (const { user, keys } of this.users.values())
          if (keys.some((k) => k.accessKeyId === accessKeyId)) return user.userName;
        return undefined;
      },
      deactivate: async (userName, accessKeyId) => {
        this.calls.deactivate++;
        const found = this.users.get(userName);
        if (found === undefined) return;
        const keys = found.keys.map((k) =>
          k.accessKeyId === accessKeyId ? { ...k, status: 'Inactive' } : k,
        );
        this.users.set(userName, { ...found, keys });
      },
      reactivate: async (userName, accessKeyId) => {
        this.calls.reactivate++;
        const found = this.users.get(userName);
        if (found === undefined) return;
        const keys = found.keys.map((k) => (k.accessKeyId === accessKeyId ? { ...k, status: 'Active' } : k));
        this.users.set(userName, { ...found, keys });
      },
    };
  }

  accountIam(): AccountIamPort {
    return {
      credentialReport: async () => {
        this.calls.report++;
        return {
          csv: this.reportCsv ?? this.reportFromState(),
          generatedAt: new Date('2026-06-01T00:00:00Z'),
        };
      },
      listUsers: async () => {
        this.calls.listUsers++;
        return [...this.users.values()].map(({ user }) => ({ userName: user.userName, arn: user.arn }));
      },
    };
  }

  findingsPort(): FindingsPort {
    return {
      importFindings: async (findings) => {
        this.importBatches.push(findings.length);
        if (this.failingImports.has(this.importBatches.length)) throw new Error('import failed');
        for (const finding of findings) this.findings.set(finding.Id as string, finding);
      },
      getFinding: async (_productArn, id) => {
        this.calls.getFinding++;
        return this.findings.get(id);
      },
      findFindings: async (_filters, keep) => {
        this.calls.findFindings++;
        return [...this.findings.values()].filter(keep);
      },
    };
  }

  notifier(): NotifierPort {
    return {
      notify: async (notification) => {
        this.notifications.push(notification);
      },
    };
  }

  deps(overrides: Partial<SweepDeps> = {}): SweepDeps {
    return {
      iam: this.iam(),
      accountIam: this.accountIam(),
      findings: this.findingsPort(),
      clock: monotonicClock(),
      sleep: async () => undefined,
      ...overrides,
    };
  }
}
