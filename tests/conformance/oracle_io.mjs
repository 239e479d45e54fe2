// What every conformance oracle shares: stdout carries only the results' JSON, cases
// come as a JSON array on stdin.
//
// Import it first: Clerk logs warnings with console.*, so on import every console
// method is sent to stderr, before any of Clerk's modules is evaluated.

for (const method of ["log", "info", "warn", "error", "debug", "trace"]) {
  console[method] = (...args) => {
    process.stderr.write(`[clerk ${method}] ${args.map(String).join(" ")}\n`);
  };
}

/** The cases: the JSON array read from stdin. */
export async function readCases() {
  const chunks = [];
  for await (const chunk of process.stdin) {
    chunks.push(chunk);
  }
  return JSON.parse(Buffer.concat(chunks).toString("utf8"));
}

/** Print the results as one line of JSON on stdout. */
export function writeResults(results) {
  process.stdout.write(JSON.stringify(results));
  process.stdout.write("\n");
}
