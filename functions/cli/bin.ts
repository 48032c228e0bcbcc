#!/usr/bin/env node
// The `keywarden` command. The package runs the compiled form of this file; in this repository
// functions/cli/bin.mjs runs it from source through tsx.

// The SDK's documented switch (aws/aws-sdk-js-v3#7983) for its Node.js 20 end-of-support notice, which would
// otherwise open every scan's stderr. Set it to `false` to see the notice. Set before the SDK loads.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const { main } = await import('./main.ts');
process.exitCode = await main(process.argv.slice(2));
