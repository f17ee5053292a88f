import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { ResourceTemplate } from '@modelcontextprotocol/sdk/server/mcp.js';
import { SubscribeRequestSchema, UnsubscribeRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { ESPCTL_TOML } from '../config/espctl-toml.js';
import { IDF_VERSION_FILE } from '../config/project-config.js';
import { DiskProject } from '../config/project-files.js';
import { EspctlError } from '../errors.js';
import { readLocalStore } from '../store/store-catalog.js';
import type { EspctlContext } from './context.js';
import { INSTALL_CLIENTS, installSnippet, type InstallClient } from './install-snippets.js';
import { withSession } from '../remote/remote-build.js';
import { EMULATOR_OUTPUT_URI, emulatorOutputOf } from './tools/emulator-tools.js';

const text = (uri: URL, body: string, mimeType = 'text/plain') => ({
  contents: [{ uri: uri.href, mimeType, text: body }],
});
const jsonText = (uri: URL, v: unknown) => text(uri, JSON.stringify(v, null, 2), 'application/json');

export function overviewText(ctx: EspctlContext): string {
  const lines = [
    `# espctl ${ctx.version}`,
    '',
    `Mode: **${ctx.mode}**: ${ctx.modeReason}.`,
    '',
    ctx.mode === 'plan-only'
      ? 'In plan-only mode read-only tools work and `build` returns a plan with status "planning"; nothing compiles and no network call is made.'
      : `Builds run on remote build machines through ${ctx.controlBaseUrl ?? 'the control API'} over WebRTC.`,
    '',
    `Transport: ${ctx.transport}${ctx.transport === 'http' ? ' (projects are passed inline as "files"; flash.run hands off to your dashboard tab)' : ''}.`,
    '',
    '## Install',
    ...INSTALL_CLIENTS.map((c) => `- ${installSnippet(c, ctx.install).title}: install://${c}`),
  ];
  return lines.join('\n') + '\n';
}

/** Project resources read the server's working directory (stdio); over HTTP there is no project on disk. */
function diskProject(ctx: EspctlContext): DiskProject {
  if (ctx.transport === 'http') {
    throw new EspctlError(
      'project_dir_unavailable',
      'Over HTTP the server has no project on disk; use the project tools with inline files.',
    );
  }
  return new DiskProject(ctx.cwd);
}

export function registerResources(server: McpServer, ctx: EspctlContext): void {
  server.registerResource(
    'install-overview',
    'install://overview',
    { title: 'espctl: mode and install', mimeType: 'text/markdown' },
    async (uri) => text(uri, overviewText(ctx), 'text/markdown'),
  );
  for (const c of INSTALL_CLIENTS) {
    const s = installSnippet(c as InstallClient, ctx.install);
    server.registerResource(
      `install-${c}`,
      `install://${c}`,
      { title: `Install in ${s.title}`, description: `Add to ${s.file}`, mimeType: 'text/plain' },
      async (uri) => text(uri, `# ${s.title}: ${s.file}\n\n${s.text}\n`),
    );
  }

  server.registerResource(
    'store-versions',
    'store://versions',
    { title: 'IDF versions in the store', mimeType: 'application/json' },
    async (uri) => jsonText(uri, await ctx.catalog()),
  );
  server.registerResource(
    'store-manifest',
    'store://manifest',
    { title: 'Store manifest.json', mimeType: 'application/json' },
    async (uri) => {
      const root = ctx.storeRoot;
      const cat = await readLocalStore(root);
      if (!root || cat.source === 'none') {
        throw new EspctlError(
          'store_not_found',
          'No local store here (ESPCTL_STORE_ROOT); store://versions lists the versions the build machines have.',
        );
      }
      return text(uri, await readFile(path.join(root, 'manifest.json'), 'utf8'), 'application/json');
    },
  );

  const projectFile = (name: string, uriStr: string, file: string, mimeType: string, title: string): void => {
    server.registerResource(name, uriStr, { title, mimeType }, async (uri) => {
      const body = await diskProject(ctx).read(file);
      if (body === undefined) throw new EspctlError('file_not_found', `${file} does not exist in ${ctx.cwd}.`);
      return text(uri, body, mimeType);
    });
  };
  projectFile('project-config', 'project://config', ESPCTL_TOML, 'application/toml', 'Project .espctl.toml');
  projectFile('project-idf-version', 'project://idf-version', IDF_VERSION_FILE, 'text/plain', 'Project .idf-version');
  projectFile('project-sdkconfig', 'project://sdkconfig', 'sdkconfig', 'text/plain', 'Project sdkconfig');
  projectFile(
    'project-compile-commands',
    'project://compile_commands',
    'build/compile_commands.json',
    'application/json',
    'compile_commands.json',
  );

  const logText = (taskId: string): string => {
    const task = ctx.tasks.get(taskId);
    return task.logs
      .read(0, 1_000_000)
      .lines.map((l) => l.text)
      .join('\n');
  };
  server.registerResource(
    'build-log-latest',
    'build://log/latest',
    { title: 'Log of the latest build', mimeType: 'text/plain' },
    async (uri) => {
      const t = ctx.tasks.latest();
      if (!t) throw new EspctlError('task_not_found', 'No build has run in this session yet.');
      return text(uri, logText(t.id));
    },
  );
  server.registerResource(
    'build-log',
    new ResourceTemplate('build://log/{task_id}', {
      list: async () => ({
        resources: ctx.tasks
          .list()
          .map((t) => ({ uri: `build://log/${t.id}`, name: `log ${t.id}`, mimeType: 'text/plain' })),
      }),
    }),
    { title: 'Build log (subscribe for updates)', mimeType: 'text/plain' },
    async (uri, { task_id }) => text(uri, logText(String(task_id))),
  );
  server.registerResource(
    'build-artifacts',
    new ResourceTemplate('build://artifacts/{target}', { list: undefined }),
    { title: 'Artifacts of the latest build for a target', mimeType: 'application/json' },
    async (uri, { target }) => {
      const t = ctx.tasks
        .list()
        .filter((x) => x.target === String(target))
        .pop();
      if (!t) throw new EspctlError('task_not_found', `No build for ${String(target)} in this session.`);
      return jsonText(uri, await withSession(ctx.remote, t, (s) => s.call('artifacts.list', {})));
    },
  );

  registerLogSubscriptions(server, ctx);
}

/** `resources/subscribe` on build://log/{task_id}: a `resources/updated` notification as lines arrive (throttled). */
function registerLogSubscriptions(server: McpServer, ctx: EspctlContext): void {
  const low = server.server;
  low.registerCapabilities({ resources: { subscribe: true, listChanged: true } });
  const subs = new Map<string, () => void>();
  const unsubscribeAll = (): void => {
    for (const off of subs.values()) off();
    subs.clear();
  };
  low.setRequestHandler(SubscribeRequestSchema, async (req) => {
    const uri = req.params.uri;
    const m = /^build:\/\/log\/(.+)$/.exec(uri);
    const emu = EMULATOR_OUTPUT_URI.exec(uri);
    if (!m && !emu)
      throw new EspctlError(
        'subscribe_unsupported',
        `Only build://log/{task_id} and emulator://{task_id}/output support subscriptions, not ${uri}.`,
      );
    if (subs.has(uri)) return {};
    if (emu) {
      const log = emulatorOutputOf(ctx, emu[1]);
      let timer: NodeJS.Timeout | undefined;
      const off = log.onLines(() => {
        timer ??= setTimeout(() => {
          timer = undefined;
          void low.sendResourceUpdated({ uri }).catch(() => undefined);
        }, 100);
      });
      subs.set(uri, () => {
        off();
        if (timer) clearTimeout(timer);
      });
      return {};
    }
    const task = m![1] === 'latest' ? ctx.tasks.latest() : ctx.tasks.get(m![1]);
    if (!task) throw new EspctlError('task_not_found', 'No build has run in this session yet.');
    let timer: NodeJS.Timeout | undefined;
    const notify = (): void => {
      if (timer) return;
      timer = setTimeout(() => {
        timer = undefined;
        void low.sendResourceUpdated({ uri }).catch(() => undefined);
      }, 100);
    };
    const offLine = task.logs.onLines(notify);
    const offState = ctx.tasks.onChange((t) => t.id === task.id && notify());
    subs.set(uri, () => {
      offLine();
      offState();
      if (timer) clearTimeout(timer);
    });
    return {};
  });
  low.setRequestHandler(UnsubscribeRequestSchema, async (req) => {
    subs.get(req.params.uri)?.();
    subs.delete(req.params.uri);
    return {};
  });
  const prev = low.onclose;
  low.onclose = () => {
    unsubscribeAll();
    prev?.();
  };
}
