// Frontend API proxy conformance oracle: runs @clerk/backend's own clerkFrontendApiProxy
// (pinned in package.json) on a batch of cases with fetch intercepted, and prints the
// request Clerk would send to the Frontend API and the answer it would give, for
// test_proxy_conformance.py. Nothing leaves this process.
//
// Input (stdin): a JSON array of cases
//   {name, request: {method, url, headers: [[n, v], ...], body: string | null},
//    options: {proxyPath, publishableKey, secretKey, fapiUrl},
//    upstream: {status, headers: [[n, v], ...], body: string}}
// Output (stdout): a JSON array of
//   {name, sent: {method, url, headers: [[n, v], ...], body} | null,
//    answer: {status, headers: [[n, v], ...], body}}

import { readCases, writeResults } from "./oracle_io.mjs";

let current = null;
globalThis.fetch = async (input, init = {}) => {
  const headers = [];
  new Headers(init.headers).forEach((value, name) => headers.push([name, value]));
  let body = null;
  if (init.body) {
    body = await new Response(init.body).text();
  }
  current.sent = { method: init.method, url: String(input), headers, body };
  const upstream = current.upstream;
  const responseHeaders = new Headers();
  for (const [name, value] of upstream.headers) {
    responseHeaders.append(name, value);
  }
  const status = upstream.status;
  const noBody = status === 204 || status === 304 || (status >= 300 && status < 400);
  return new Response(noBody ? null : upstream.body, { status, headers: responseHeaders });
};

const { clerkFrontendApiProxy } = await import("@clerk/backend/proxy");

function headerPairs(headers) {
  const out = [];
  headers.forEach((value, name) => {
    if (name !== "set-cookie") {
      out.push([name, value]);
    }
  });
  for (const value of headers.getSetCookie()) {
    out.push(["set-cookie", value]);
  }
  return out;
}

const cases = await readCases();
const results = [];
for (const testCase of cases) {
  current = { sent: null, upstream: testCase.upstream };
  try {
    const init = { method: testCase.request.method, headers: testCase.request.headers };
    if (testCase.request.body !== null) {
      init.body = testCase.request.body;
      init.duplex = "half";
    }
    const request = new Request(testCase.request.url, init);
    const response = await clerkFrontendApiProxy(request, testCase.options);
    results.push({
      name: testCase.name,
      sent: current.sent,
      answer: {
        status: response.status,
        headers: headerPairs(response.headers),
        body: await response.text(),
      },
    });
  } catch (err) {
    results.push({ name: testCase.name, error: String(err && err.message ? err.message : err) });
  }
}
writeResults(results);
