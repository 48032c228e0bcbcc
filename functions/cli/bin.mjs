#!/usr/bin/env node
// `keywarden` from the TypeScript sources, for this repository's tests and scripts: tsx (a devDependency)
// loads bin.ts. The npm package's bin is the compiled lib/functions/cli/bin.js instead.
import { register } from 'tsx/esm/api';

register();
await import('./bin.ts');
