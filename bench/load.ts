// The load generator, run as a child process so that autocannon's own work (sending,
// parsing, comparing bodies) never shares an event loop with the server it measures.
// Reads autocannon options as JSON on stdin, writes autocannon's result as JSON on stdout.
import autocannon from "autocannon";

const chunks: Buffer[] = [];
for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
const options = JSON.parse(Buffer.concat(chunks).toString("utf8")) as autocannon.Options;
const result = await autocannon(options);
process.stdout.write(JSON.stringify(result));
