import { runCli } from './program.js';

/** Entry point of bin/espctl.js. */
const code = await runCli(process.argv.slice(2), { env: process.env, cwd: process.cwd() });
// `mcp serve` resolves when stdin closes; everything else is done here.
process.exitCode = code;
