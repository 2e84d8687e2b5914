// The Lambda Runtime API loop of the managed Node.js runtime, reduced to what it does for a
// handler that returns a promise: load the handler (init), then GET the next event, call the
// handler, POST its answer (or the error), forever. Run as `node bootstrap.mjs invite.handler`
// with AWS_LAMBDA_RUNTIME_API set, as bench/run.py does. Why not npm's aws-lambda-ric: README,
// "Benchmarks".
import http from "node:http";
import path from "node:path";
import { pathToFileURL } from "node:url";

const api = process.env.AWS_LAMBDA_RUNTIME_API;
const base = "/2018-06-01/runtime";
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });

function call(method, route, body, headers = {}) {
  return new Promise((resolve, reject) => {
    const [host, port] = api.split(":");
    const request = http.request(
      { host, port, method, path: base + route, agent, headers: body === undefined ? headers : { "content-type": "application/json", ...headers } },
      (response) => {
        const chunks = [];
        response.on("data", (chunk) => chunks.push(chunk));
        response.on("end", () => resolve({ headers: response.headers, body: Buffer.concat(chunks).toString() }));
      },
    );
    request.on("error", reject);
    request.end(body);
  });
}

const failure = (error) =>
  JSON.stringify({ errorType: error?.name ?? "Error", errorMessage: String(error?.message ?? error), trace: String(error?.stack ?? "").split("\n") });

const [moduleName, exportName] = process.argv[2].split(".");
const root = process.env.LAMBDA_TASK_ROOT ?? process.cwd();
let handler;
try {
  handler = (await import(pathToFileURL(path.join(root, `${moduleName}.mjs`))))[exportName];
} catch (error) {
  await call("POST", "/init/error", failure(error), { "lambda-runtime-function-error-type": "Runtime.ImportModuleError" });
  process.exit(1);
}

for (;;) {
  const next = await call("GET", "/invocation/next");
  const requestId = next.headers["lambda-runtime-aws-request-id"];
  const deadline = Number(next.headers["lambda-runtime-deadline-ms"]);
  process.env._X_AMZN_TRACE_ID = next.headers["lambda-runtime-trace-id"] ?? "";
  const context = {
    awsRequestId: requestId,
    invokedFunctionArn: next.headers["lambda-runtime-invoked-function-arn"],
    functionName: process.env.AWS_LAMBDA_FUNCTION_NAME,
    functionVersion: process.env.AWS_LAMBDA_FUNCTION_VERSION,
    memoryLimitInMB: process.env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE,
    logGroupName: process.env.AWS_LAMBDA_LOG_GROUP_NAME,
    logStreamName: process.env.AWS_LAMBDA_LOG_STREAM_NAME,
    callbackWaitsForEmptyEventLoop: true,
    getRemainingTimeInMillis: () => deadline - Date.now(),
  };
  try {
    const result = await handler(JSON.parse(next.body), context);
    await call("POST", `/invocation/${requestId}/response`, JSON.stringify(result ?? null));
  } catch (error) {
    console.error(error);
    await call("POST", `/invocation/${requestId}/error`, failure(error), { "lambda-runtime-function-error-type": "Runtime.HandlerError" });
  }
}
