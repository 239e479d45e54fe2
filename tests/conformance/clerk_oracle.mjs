// Conformance oracle: runs Clerk's own `authenticateRequest` (@clerk/backend, pinned in
// package.json) on a batch of cases and prints what it answers, so that
// test_conformance.py can compare our Python core with it.
//
// Input (stdin): a JSON array of cases
//   {name, now_ms, options: {publishableKey, secretKey, jwtKey, ...},
//    request: {method, url, headers: [[name, value], ...]}, has_queries: [{role: ...}, ...]}
// Output (stdout): a JSON array of results, one per case, in the same order
//   {name, status, reason, message, token, headers: [[name, value], ...],
//    auth, auth_pending, has: {pending: [...], default: [...]}, error, error_stage}
//
// Nothing here touches the network: no apiClient is given (so refresh is never
// attempted over HTTP) and every case passes `jwtKey` (so no JWKS is fetched).

import { readCases, writeResults } from "./oracle_io.mjs";

// Time is pinned per case: `Date.now()` and `new Date()` (no arguments) both
// return the case's `now_ms`. `new Date(x)` is unchanged.
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

// Belt and braces for "networkless": any fetch Clerk attempts fails at once and
// is reported in the case's result (`network_attempted`). Clerk's runtime binds
// `fetch` when its module loads, so @clerk/backend is imported only after this
// (a static import would be hoisted above it and keep the real fetch).
let networkAttempted = false;
globalThis.fetch = async (input) => {
  networkAttempted = true;
  throw new Error(`conformance oracle: network disabled (fetch ${String(input)})`);
};

const { createAuthenticateRequest } = await import("@clerk/backend/internal");

const AUTH_FIELDS = [
  "userId",
  "sessionId",
  "sessionStatus",
  "sessionClaims",
  "orgId",
  "orgRole",
  "orgSlug",
  "orgPermissions",
  "actor",
  "factorVerificationAge",
  "isAuthenticated",
];

function serialiseAuth(auth) {
  if (auth === null || auth === undefined) {
    return null;
  }
  const out = {};
  for (const field of AUTH_FIELDS) {
    const value = auth[field];
    out[field] = value === undefined ? null : value;
  }
  return out;
}

function runHas(auth, queries) {
  if (auth === null || auth === undefined) {
    return null;
  }
  return queries.map((query) => {
    try {
      return auth.has(query);
    } catch (err) {
      return { error: String(err && err.message ? err.message : err) };
    }
  });
}

function serialiseHeaders(headers) {
  const out = [];
  for (const [name, value] of headers) {
    if (name.toLowerCase() !== "set-cookie") {
      out.push([name.toLowerCase(), value]);
    }
  }
  for (const value of headers.getSetCookie()) {
    out.push(["set-cookie", value]);
  }
  return out;
}

function errorMessage(err) {
  if (err && typeof err === "object" && "message" in err) {
    return String(err.message);
  }
  return String(err);
}

async function runCase(testCase) {
  const result = {
    name: testCase.name,
    status: null,
    reason: null,
    message: null,
    token: null,
    headers: null,
    auth: null,
    auth_pending: null,
    has: null,
    error: null,
    error_stage: null,
    network_attempted: false,
  };
  networkAttempted = false;
  pinnedNowMs = testCase.now_ms;
  const headers = new Headers();
  for (const [name, value] of testCase.request.headers) {
    headers.append(name, value);
  }
  const request = new Request(testCase.request.url, {
    method: testCase.request.method,
    headers,
  });
  const { authenticateRequest } = createAuthenticateRequest({ options: {} });
  let state;
  try {
    state = await authenticateRequest(request, { ...testCase.options });
  } catch (err) {
    result.error = errorMessage(err);
    result.error_stage = "authenticate";
    result.network_attempted = networkAttempted;
    return result;
  }
  result.network_attempted = networkAttempted;
  result.status = state.status;
  result.reason = state.reason ?? null;
  result.message = state.message ?? null;
  result.token = state.token ?? null;
  result.headers = serialiseHeaders(state.headers);
  let auth;
  let authPending;
  try {
    auth = state.toAuth();
    authPending = state.toAuth({ treatPendingAsSignedOut: false });
  } catch (err) {
    result.error = errorMessage(err);
    result.error_stage = "to_auth";
    return result;
  }
  result.auth = serialiseAuth(auth);
  result.auth_pending = serialiseAuth(authPending);
  const queries = testCase.has_queries || [];
  if (auth !== null && auth !== undefined) {
    result.has = { default: runHas(auth, queries), pending: runHas(authPending, queries) };
  }
  return result;
}

const cases = await readCases();
const results = [];
for (const testCase of cases) {
  try {
    results.push(await runCase(testCase));
  } catch (err) {
    // A failure of the oracle itself (bad case JSON, Request refusing a header):
    // reported per case so the test names what went wrong.
    results.push({ name: testCase.name, oracle_error: errorMessage(err) });
  }
}
globalThis.Date = RealDate;
writeResults(results);
