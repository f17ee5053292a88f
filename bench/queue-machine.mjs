// Benchmark-only build machine for bench/queue.mjs: the real agent (built dist) with a trivial backend. A "build"
// prints `lines` log lines carrying the project's nonce `delayMs` apart and writes a tiny app.bin; it logs when it
// starts and ends (epoch ms) so the benchmark can time slot free → next job and check nothing ran twice.
import { createHash } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createLogger, loadConfig, runMachine } from '../apps/machine/dist/main.js';

const config = loadConfig(process.argv);
const log = createLogger(config.logLevel);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const backend = {
  inventory: async () => ({ idfVersions: ['bench-1.0'], targets: ['esp32c3'] }),
  async build(req) {
    log.info({ jobId: req.jobId, at: Date.now() }, 'bench build start');
    const spec = JSON.parse(await readFile(join(req.workspaceDir, 'project', 'bench.json'), 'utf8'));
    for (let i = 0; i < spec.lines; i++) {
      req.onLine('stdout', `nonce ${spec.nonce} line ${i}`);
      await sleep(spec.delayMs);
    }
    const dir = join(req.workspaceDir, 'artifacts');
    await mkdir(dir, { recursive: true });
    const fw = Buffer.from(`firmware for ${spec.nonce}\n`);
    await writeFile(join(dir, 'app.bin'), fw);
    log.info({ jobId: req.jobId, at: Date.now() }, 'bench build end');
    return {
      state: 'succeeded',
      exitCode: 0,
      target: 'esp32c3',
      idfVersion: 'bench-1.0',
      artifactsDir: dir,
      artifacts: [
        { name: 'app.bin', size: fw.length, sha256: createHash('sha256').update(fw).digest('hex'), kind: 'image' },
      ],
    };
  },
  size: async () => ({}),
  decode: async () => [],
  terminal: async (ws) => ({ file: '/bin/sh', args: [], env: {}, cwd: ws }),
};

const agent = await runMachine(config, backend, log);
process.once('SIGTERM', () => void agent.stop().then(() => process.exit(0)));
