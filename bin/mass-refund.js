#!/usr/bin/env node
// The CLI is TypeScript; tsx compiles it on the fly so `npx mass-refund` works right after `npm install`.
import { register } from 'tsx/esm/api';

// The SDK's notice about Node 22 is for maintainers, not operators reading stderr.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

register();
const { main } = await import('../lib/cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
