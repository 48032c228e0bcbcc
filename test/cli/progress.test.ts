import { describe, expect, it } from 'vitest';
import { progressReporter } from '../../functions/cli/progress.ts';

function stream(isTTY: boolean) {
  const written: string[] = [];
  return { written, output: { write: (text: string) => written.push(text), isTTY } };
}

describe('progressReporter', () => {
  it.each([
    {
      case: 'a terminal, one account',
      tty: true,
      accountId: undefined,
      first: '\r\x1b[2KGenerating the IAM credential report…',
    },
    {
      case: 'a log, one account',
      tty: false,
      accountId: undefined,
      first: 'Generating the IAM credential report…\n',
    },
    {
      case: 'a terminal, several accounts',
      tty: true,
      accountId: '111122223333',
      first: '[111122223333] Generating the IAM credential report…\n',
    },
    {
      case: 'a log, several accounts',
      tty: false,
      accountId: '111122223333',
      first: '[111122223333] Generating the IAM credential report…\n',
    },
  ])('on $case, writes $first', ({ tty, accountId, first }) => {
    // Prepare
    const { written, output } = stream(tty);
    const report = progressReporter(output, accountId);

    // Act
    report({ phase: 'report' });

    // Assess
    expect(written).toEqual([first]);
  });

  it('writes a line per phase and per quarter of a long one, each with the account prefix', () => {
    // Prepare
    const { written, output } = stream(true);
    const report = progressReporter(output, '111122223333');

    // Act
    for (let done = 0; done <= 400; done += 50) report({ phase: 'checking', done, total: 400 });

    // Assess
    expect(written).toEqual([
      '[111122223333] Confirming 400 candidate(s) live…\n',
      '[111122223333] Confirming candidates live: 100/400\n',
      '[111122223333] Confirming candidates live: 200/400\n',
      '[111122223333] Confirming candidates live: 300/400\n',
      '[111122223333] Confirming candidates live: 400/400\n',
    ]);
  });
});
