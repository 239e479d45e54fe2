// Content-Security-Policy conformance oracle: runs @clerk/nextjs's own
// createContentSecurityPolicyHeaders (pinned in package.json) on a batch of cases and
// prints the headers it answers, for test_csp_conformance.py.
//
// Input (stdin): a JSON array of cases
//   {name, host, options: {strict, reportOnly, reportTo, directives}, production: bool,
//    random: [16 byte values]}
// Output (stdout): a JSON array of {name, headers: [[name, value], ...]} or
//   {name, error}, in the same order.
//
// Clerk reads NODE_ENV when its module loads (development adds 'unsafe-eval'), so the
// module is loaded once per mode; its nonce comes from crypto.getRandomValues, which
// returns each case's bytes here so that both sides can be compared exactly.

import { readCases, writeResults } from "./oracle_io.mjs";

const MODULE = new URL(
  "./node_modules/@clerk/nextjs/dist/esm/server/content-security-policy.js",
  import.meta.url,
);

async function load(mode) {
  process.env.NODE_ENV = mode;
  // A distinct URL per mode: ESM caches a module by URL.
  return import(`${MODULE.href}?mode=${mode}`);
}

const modules = {
  production: await load("production"),
  development: await load("development"),
};

let randomBytes = new Uint8Array(16);
const realGetRandomValues = globalThis.crypto.getRandomValues.bind(globalThis.crypto);
globalThis.crypto.getRandomValues = (array) => {
  if (array instanceof Uint8Array && array.length === randomBytes.length) {
    array.set(randomBytes);
    return array;
  }
  return realGetRandomValues(array);
};

const cases = await readCases();
const results = [];
for (const testCase of cases) {
  randomBytes = Uint8Array.from(testCase.random);
  const module = modules[testCase.production ? "production" : "development"];
  try {
    const { headers } = module.createContentSecurityPolicyHeaders(testCase.host, testCase.options);
    results.push({ name: testCase.name, headers });
  } catch (err) {
    results.push({ name: testCase.name, error: String(err && err.message ? err.message : err) });
  }
}
writeResults(results);
