// Machine-token conformance oracle: runs Clerk's own `authenticateRequest` (@clerk/backend,
// pinned in package.json) on a batch of machine-token cases and prints what it answers,
// so that test_machine_conformance.py can compare our Python core with it.
//
// Input (stdin): a JSON array of cases
//   {name, now_ms, options: {publishableKey, secretKey, jwtKey, acceptsToken,
//    machineSecretKey, apiUrl, audience, ...}, request: {method, url, headers: [[n, v], ...]},
//    accepts: [acceptsToken, ...], network: bool, fetch_timeout_ms: number | null}
// Output (stdout): a JSON array of results, one per case, in the same order
//   {name, status, reason, message, token, token_type, is_authenticated,
//    headers: [[name, value], ...], auth, accepted: [auth, ...], fetches, error,
//    error_stage, network_attempted}
// where `auth` is `state.toAuth()` projected onto the fields the Python side has
// (see AUTH_FIELDS) and `accepted[i]` is
// `getAuthObjectForAcceptedToken({authObject: state.toAuth(), acceptsToken: accepts[i]})`.
//
// The network: a case with `network: false` may not fetch at all (a fetch fails at
// once and is reported as `network_attempted`); a case with `network: true` talks to
// the local instance named by `options.apiUrl` (loopback only), and every request
// Clerk sends is listed in `fetches` as {method, host, path, authorization}. With
// `fetch_timeout_ms`, each fetch is aborted after that long, as a platform whose
// fetch has a deadline would do (Clerk's own client sets none).

import { readCases, writeResults } from "./oracle_io.mjs";

// Time is pinned per case: `Date.now()` and `new Date()` return the case's `now_ms`.
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

// Clerk's runtime binds `fetch` when its module loads, so the guard must be in place
// before @clerk/backend is imported (hence the dynamic import below).
const realFetch = globalThis.fetch;
let current = { network: false, timeoutMs: null, attempted: false, fetches: [] };
globalThis.fetch = async (input, init = {}) => {
  const request = new Request(input, init);
  const url = new URL(request.url);
  current.attempted = true;
  current.fetches.push({
    method: request.method,
    host: url.host,
    path: url.pathname,
    authorization: request.headers.get("authorization"),
  });
  if (!current.network) {
    throw new Error(`machine oracle: network disabled (fetch ${url.pathname})`);
  }
  if (url.hostname !== "127.0.0.1" && url.hostname !== "localhost") {
    throw new Error(`machine oracle: only loopback is reachable (fetch ${url.host})`);
  }
  const options = { ...init };
  if (current.timeoutMs !== null) {
    options.signal = AbortSignal.timeout(current.timeoutMs);
  }
  return realFetch(input, options);
};

const { createAuthenticateRequest, getAuthObjectForAcceptedToken } = await import(
  "@clerk/backend/internal"
);

// Clerk's auth object fields, in the order the Python side projects them.
const AUTH_FIELDS = [
  "tokenType",
  "isAuthenticated",
  "id",
  "subject",
  "scopes",
  "name",
  "claims",
  "userId",
  "orgId",
  "machineId",
  "clientId",
  "sessionId",
];

async function serialiseAuth(auth) {
  if (auth === null || auth === undefined) {
    return null;
  }
  const out = {};
  for (const field of AUTH_FIELDS) {
    const value = auth[field];
    out[field] = value === undefined ? null : value;
  }
  // Which of Clerk's auth objects it is: a session one (signedIn/signedOutAuthObject),
  // a machine one (authenticated/unauthenticatedMachineObject) or invalidTokenAuthObject.
  if ("sessionId" in auth) {
    out.shape = "session";
  } else if ("machineId" in auth || "clientId" in auth || "name" in auth) {
    out.shape = "machine";
  } else {
    out.shape = "invalid";
  }
  out.has = auth.has({ role: "org:admin" });
  out.token = (await auth.getToken()) ?? null;
  return out;
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
    token_type: null,
    is_authenticated: null,
    headers: null,
    auth: null,
    accepted: null,
    fetches: [],
    error: null,
    error_stage: null,
    network_attempted: false,
  };
  current = {
    network: Boolean(testCase.network),
    timeoutMs: testCase.fetch_timeout_ms ?? null,
    attempted: false,
    fetches: [],
  };
  pinnedNowMs = testCase.now_ms;
  const headers = new Headers();
  for (const [name, value] of testCase.request.headers) {
    headers.append(name, value);
  }
  const request = new Request(testCase.request.url, { method: testCase.request.method, headers });
  // Clerk reads apiUrl (and apiVersion) only from the build-time options of
  // createAuthenticateRequest, as clerkClient passes them; per-call values are overridden.
  const buildTime = {};
  for (const name of ["apiUrl", "apiVersion"]) {
    if (testCase.options[name] !== undefined) {
      buildTime[name] = testCase.options[name];
    }
  }
  const { authenticateRequest } = createAuthenticateRequest({ options: buildTime });
  let state;
  try {
    state = await authenticateRequest(request, { ...testCase.options });
  } catch (err) {
    result.error = errorMessage(err);
    result.error_stage = "authenticate";
    result.network_attempted = current.attempted;
    result.fetches = current.fetches;
    return result;
  }
  result.network_attempted = current.attempted;
  result.fetches = current.fetches;
  result.status = state.status;
  result.reason = state.reason ?? null;
  result.message = state.message ?? null;
  result.token = state.token ?? null;
  result.token_type = state.tokenType ?? null;
  result.is_authenticated = state.isAuthenticated;
  result.headers = serialiseHeaders(state.headers);
  let auth;
  try {
    auth = state.toAuth();
  } catch (err) {
    result.error = errorMessage(err);
    result.error_stage = "to_auth";
    return result;
  }
  result.auth = await serialiseAuth(auth);
  if (auth !== null && auth !== undefined) {
    result.accepted = [];
    for (const acceptsToken of testCase.accepts) {
      try {
        result.accepted.push(
          await serialiseAuth(getAuthObjectForAcceptedToken({ authObject: auth, acceptsToken })),
        );
      } catch (err) {
        result.accepted.push({ error: errorMessage(err) });
      }
    }
  }
  return result;
}

const cases = await readCases();
const results = [];
for (const testCase of cases) {
  try {
    results.push(await runCase(testCase));
  } catch (err) {
    // A failure of the oracle itself (bad case JSON, Request refusing a header).
    results.push({ name: testCase.name, oracle_error: errorMessage(err) });
  }
}
globalThis.Date = RealDate;
writeResults(results);
