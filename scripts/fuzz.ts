/**
 * The reliability fuzz properties with a budget too large for CI (test/reliability/fuzz.test.ts runs the same
 * ones small). Exits non-zero on the first counterexample, printing fast-check's seed to replay it.
 *
 *   npm run fuzz                                    # 200 000 parser inputs, 10 000 handler inputs
 *   npm run fuzz -- --parser 1000000 --handler 50000 --seed 42
 */

import { parseArgs } from 'node:util';
import { describeTally, fuzzHandler, fuzzParser } from '../test/reliability/properties.ts';

const { values } = parseArgs({
  options: {
    parser: { type: 'string', default: '200000' },
    handler: { type: 'string', default: '10000' },
    seed: { type: 'string' },
  },
});

function count(name: string, raw: string | undefined): number {
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0) {
    throw new Error(`--${name}=${JSON.stringify(raw)} is not allowed; use a whole number of runs`);
  }
  return value;
}

const seed =
  values.seed === undefined ? Date.now() ^ (Math.random() * 0x100000000) : count('seed', values.seed);
const parserRuns = count('parser', values.parser);
const handlerRuns = count('handler', values.handler);

console.log(`[fuzz] seed ${seed}: replay with --seed ${seed}`);
let started = performance.now();
if (parserRuns > 0) {
  console.log(describeTally('parseKeyEvent', fuzzParser({ numRuns: parserRuns, seed })));
  console.log(`[fuzz] parser: ${((performance.now() - started) / 1000).toFixed(1)} s`);
}
started = performance.now();
if (handlerRuns > 0) {
  console.log(describeTally('handler', await fuzzHandler({ numRuns: handlerRuns, seed })));
  console.log(`[fuzz] handler: ${((performance.now() - started) / 1000).toFixed(1)} s`);
}
