'use strict';
/**
 * One Lambda "container" of the local runtime: a worker thread with its own module instances and
 * its own process.env (the function's environment), which loads one function's bundle from the
 * cloud assembly as the Lambda Node.js runtime loads it and runs one invocation at a time.
 *
 * - The Handler property (`index.handler`) names the module and its export; init runs once,
 *   before the first invocation, and its duration is reported (Lambda's Init Duration).
 * - A bare `require` from the bundle resolves only what the Lambda runtime provides: Node's
 *   built-ins and the AWS SDK v3 (`@aws-sdk/*`), taken from the project's node_modules as the
 *   runtime's own copy. Anything else the bundle left external fails as it would on Lambda.
 * - Everything the function writes to stdout/stderr goes to the runner, in order with the result.
 * - Errors are reported as the runtime reports them: errorType = error.name, errorMessage, trace.
 *
 * Plain CommonJS on purpose: the container loads nothing of the project's TypeScript.
 */
const { parentPort, workerData } = require('node:worker_threads');
const Module = require('node:module');
const path = require('node:path');
const { pathToFileURL } = require('node:url');

/** @type {{ file: string, dir: string, exportName: string, projectRoot: string, sourceMaps: boolean, preload: { module: string, data?: unknown }[] }} */
const spec = workerData;

for (const stream of ['stdout', 'stderr']) {
  const target = process[stream];
  target.write = (chunk, encoding, callback) => {
    const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
    parentPort.postMessage({ type: 'log', stream, text });
    const done = typeof encoding === 'function' ? encoding : callback;
    if (typeof done === 'function') process.nextTick(done);
    return true;
  };
}

const runtimeRoot = path.join(spec.projectRoot, 'node_modules');
const inBundle = (parent) => Boolean(parent && typeof parent.filename === 'string' && parent.filename.startsWith(spec.dir + path.sep));
const providedByRuntime = (request) => request.startsWith('@aws-sdk/');
const resolve = Module._resolveFilename;
Module._resolveFilename = function resolveAsLambda(request, parent, isMain, options) {
  const bare = !request.startsWith('.') && !path.isAbsolute(request) && !Module.isBuiltin(request);
  if (bare && inBundle(parent)) {
    if (!providedByRuntime(request)) {
      const error = new Error(`Cannot find module '${request}'\nRequire stack:\n- ${parent.filename}`);
      error.code = 'MODULE_NOT_FOUND';
      throw error;
    }
    return resolve.call(this, request, parent, isMain, { ...options, paths: [runtimeRoot] });
  }
  return resolve.call(this, request, parent, isMain, options);
};

/** How the Node.js runtime reports an error to Lambda (and so to Step Functions). */
function rapidResponse(error) {
  if (error instanceof Error || (error && typeof error === 'object' && typeof error.name === 'string')) {
    return {
      errorType: String(error.name),
      errorMessage: String(error.message ?? ''),
      trace: String(error.stack ?? '').split('\n'),
    };
  }
  return { errorType: typeof error, errorMessage: String(error), trace: [] };
}

function initFailure(error) {
  const response = rapidResponse(error);
  if (error && error.code === 'MODULE_NOT_FOUND') return { ...response, errorType: 'Runtime.ImportModuleError', errorMessage: `Error: ${response.errorMessage}` };
  if (error instanceof SyntaxError) return { ...response, errorType: 'Runtime.UserCodeSyntaxError' };
  return response;
}

let handler;

async function init() {
  const started = performance.now();
  try {
    // NODE_OPTIONS=--enable-source-maps in the function's environment, as Lambda applies it.
    if (spec.sourceMaps) process.setSourceMapsEnabled(true);
    const bundleRequire = Module.createRequire(spec.file);
    // Test instrumentation (RunnerOptions.preload), loaded as a layer's wrapper would be.
    for (const hook of spec.preload) require(hook.module)({ require: bundleRequire, data: hook.data });
    const loaded = spec.file.endsWith('.mjs') ? await import(pathToFileURL(spec.file).href) : require(spec.file);
    handler = loaded[spec.exportName];
    if (typeof handler !== 'function') {
      const moduleName = path.basename(spec.file).replace(/\.[cm]?js$/, '');
      const error = new Error(`${moduleName}.${spec.exportName} is undefined or not exported`);
      error.name = 'Runtime.HandlerNotFound';
      throw error;
    }
    parentPort.postMessage({ type: 'ready', initMs: performance.now() - started });
  } catch (error) {
    parentPort.postMessage({ type: 'initError', initMs: performance.now() - started, ...(error && error.name === 'Runtime.HandlerNotFound' ? rapidResponse(error) : initFailure(error)) });
  }
}

function contextOf(message) {
  const notSupported = () => {
    throw new Error('Callback-style context.done/fail/succeed is not supported: return or throw from an async handler');
  };
  return {
    ...message.context,
    callbackWaitsForEmptyEventLoop: true,
    getRemainingTimeInMillis: () => Math.max(0, message.deadline - Date.now()),
    done: notSupported,
    fail: notSupported,
    succeed: notSupported,
  };
}

parentPort.on('message', async (message) => {
  if (message.type !== 'invoke') return;
  try {
    const result = await handler(JSON.parse(message.event), contextOf(message));
    let payload;
    try {
      payload = JSON.stringify(result) ?? 'null';
    } catch (error) {
      parentPort.postMessage({ type: 'error', id: message.id, errorType: 'Runtime.MarshalError', errorMessage: `Unable to stringify response body: ${error.message}`, trace: [] });
      return;
    }
    parentPort.postMessage({ type: 'result', id: message.id, payload });
  } catch (error) {
    parentPort.postMessage({ type: 'error', id: message.id, ...rapidResponse(error) });
  }
});

// As the Node.js runtime: an unhandled rejection ends the container.
process.on('unhandledRejection', (reason) => {
  parentPort.postMessage({ type: 'crash', ...rapidResponse(reason), errorType: 'Runtime.UnhandledPromiseRejection' });
  process.exit(128);
});

void init();
