// Runs Clerk's own authenticateRequest (@clerk/backend, as pinned and installed in
// ../conformance) on one request against a live local instance, for
// test_against_clerk.py. Unlike the conformance oracle, the network is real: Clerk's
// SDK fetches the JWKS, exchanges handshake nonces and refreshes sessions over HTTP.
//
// Input (stdin): {now_ms, secretKey, publishableKey, apiUrl, proxyUrl,
//                 request: {method, url, headers: [[name, value], ...]}}
// Output (stdout): {status, reason, message, token, headers: [[name, value], ...]} or {error}
"use strict";

const path = require("node:path");
const { createRequire } = require("node:module");

const fromOracle = createRequire(path.join(__dirname, "..", "conformance", "package.json"));
const { createClerkClient } = fromOracle("@clerk/backend");

for (const method of ["log", "info", "warn", "error", "debug", "trace"]) {
  console[method] = (...args) => process.stderr.write(`[clerk ${method}] ${args.map(String).join(" ")}\n`);
}

// Clerk's clock is pinned to the case's time, as the Python side's is.
const RealDate = Date;
let pinnedNowMs = RealDate.now();
class PinnedDate extends RealDate {
  constructor(...args) {
    if (args.length === 0) {
      super(pinnedNowMs);
    } else {
      super(...args);
    }
  }
  static now() {
    return pinnedNowMs;
  }
}
globalThis.Date = PinnedDate;

let input = "";
process.stdin.setEncoding("utf8");
process.stdin.on("data", (chunk) => (input += chunk));
process.stdin.on("end", async () => {
  const c = JSON.parse(input);
  pinnedNowMs = c.now_ms;
  const clerk = createClerkClient({
    secretKey: c.secretKey,
    publishableKey: c.publishableKey,
    apiUrl: c.apiUrl,
  });
  try {
    const request = new Request(c.request.url, { method: c.request.method, headers: c.request.headers });
    const state = await clerk.authenticateRequest(request, { proxyUrl: c.proxyUrl });
    const headers = [];
    state.headers.forEach((value, name) => headers.push([name, value]));
    process.stdout.write(
      JSON.stringify({
        status: state.status,
        reason: state.reason,
        message: state.message,
        token: state.token,
        headers,
      }),
    );
  } catch (error) {
    process.stdout.write(JSON.stringify({ error: String(error) }));
  }
});
