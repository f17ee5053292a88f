// Benchmark-only build machine: the real agent (built dist) with a backend whose "build" writes N random bytes
// of firmware, plus a plain HTTP server on 127.0.0.1 serving the same artifact files as the throughput baseline.
// (The product agent never listens; this extra server exists only in this benchmark process.)
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, statSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { join, resolve, sep } from 'node:path';
import { createLogger, loadConfig, runMachine } from '../apps/machine/dist/main.js';

const config = loadConfig(process.argv);
const log = createLogger(config.logLevel);

const backend = {
  inventory: async () => ({ idfVersions: ['bench-1.0'], targets: ['esp32c3'] }),
  async build(req) {
    const spec = JSON.parse(await readFile(join(req.workspaceDir, 'project', 'bench.json'), 'utf8'));
    const dir = join(req.workspaceDir, 'artifacts');
    await mkdir(dir, { recursive: true });
    const fw = randomBytes(spec.firmwareBytes);
    await writeFile(join(dir, 'app.bin'), fw);
    req.onLine('stdout', `wrote ${fw.length} bytes`);
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

const jobsDir = resolve(config.workDir, 'jobs');
const server = createServer((req, res) => {
  const m = /^\/jobs\/([0-9a-f-]{36})\/app\.bin$/.exec(req.url ?? '');
  const path = m && resolve(jobsDir, m[1], 'artifacts', 'app.bin');
  if (!path || !path.startsWith(jobsDir + sep)) return void res.writeHead(404).end();
  try {
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': statSync(path).size });
    createReadStream(path).pipe(res);
  } catch {
    res.writeHead(404).end();
  }
});
server.listen(0, '127.0.0.1', () => log.info({ port: server.address().port }, 'bench http'));
await runMachine(config, backend, log);
