import { describe, expect, it } from 'vitest';
import { describeTally, fuzzHandler, fuzzParser } from './properties.ts';

// CI budget; `npm run fuzz` (scripts/fuzz.ts) runs the same properties with a larger one.
const PARSER_RUNS = 10_000;
const HANDLER_RUNS = 600;
const seed = process.env.FUZZ_SEED === undefined ? undefined : Number(process.env.FUZZ_SEED);

describe('parseKeyEvent under fuzzing', () => {
  it('returns a target or a reasoned skip, or throws InvalidEventError, for any input', () => {
    const tally = fuzzParser({ numRuns: PARSER_RUNS, seed });

    console.info(describeTally('parseKeyEvent', tally));
    expect(tally.runs).toBe(PARSER_RUNS);
    // The generators must reach every kind of outcome, or the property proves little.
    expect(tally.outcomes.target).toBeGreaterThan(PARSER_RUNS / 20);
    expect(tally.outcomes['invalid-event']).toBeGreaterThan(PARSER_RUNS / 20);
    expect(
      Object.keys(tally.outcomes).filter((outcome) => outcome.startsWith('skip:')).length,
    ).toBeGreaterThanOrEqual(5);
  });
});

describe('detector handler under fuzzing (mocked AWS)', () => {
  it('never throws a TypeError, writes to IAM only for a confirmed violation, and logs no secret', async () => {
    const tally = await fuzzHandler({ numRuns: HANDLER_RUNS, seed });

    console.info(describeTally('handler', tally));
    expect(tally.runs).toBe(HANDLER_RUNS);
    expect(Object.keys(tally.outcomes).some((outcome) => outcome.startsWith('evaluated:violation'))).toBe(
      true,
    );
    expect(tally.outcomes['evaluated:violation:deactivated']).toBeGreaterThan(0);
    expect(tally.outcomes['invalid-event']).toBeGreaterThan(0);
    expect(tally.secretsPlanted).toBeGreaterThan(HANDLER_RUNS / 2);
  });
});
