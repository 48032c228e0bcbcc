#!/usr/bin/env node
// The `keywarden` command. tsx (a runtime dependency) loads the TypeScript sources, so there is no build step.
import { register } from 'tsx/esm/api';

// The SDK's documented switch (aws/aws-sdk-js-v3#7983) for its Node.js 20 end-of-support notice, which would
// otherwise open every scan's stderr. Set it to `false` to see the notice.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

register();
const { main } = await import('./main.ts');
process.exitCode = await main(process.argv.slice(2));
