import path from 'node:path';
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { z } from 'zod';
import { IdfVersion, Target, type EspctlToml } from '@aegis/protocol';
import { ESPCTL_TOML, parseEspctlToml, stringifyEspctlToml } from '../../config/espctl-toml.js';
import { IDF_VERSION_FILE, loadProjectConfig } from '../../config/project-config.js';
import { DiskProject, InlineProject, type ProjectFiles } from '../../config/project-files.js';
import { EspctlError, toErrorBody } from '../../errors.js';
import { BoardId, ProjectName, renderComponent, renderTemplate, TemplateName } from '../../project/templates.js';
import type { EspctlContext } from '../context.js';
import { openProject, projectInput, writeOutput, writeResult } from '../project-input.js';
import { defineTool } from '../tool-kit.js';

const configShape = z.object({
  name: z.string().optional(),
  target: z.string().optional(),
  idf_version: z.string().optional(),
  idf_version_source: z.string().optional(),
  profile: z.string().optional(),
  has_cmakelists: z.boolean(),
});

async function readToml(project: ProjectFiles): Promise<EspctlToml> {
  const text = await project.read(ESPCTL_TOML);
  return text === undefined ? {} : parseEspctlToml(text);
}

export function registerProjectTools(server: McpServer, ctx: EspctlContext): void {
  defineTool(
    server,
    {
      name: 'project.init',
      title: 'Initialise espctl config',
      description:
        'Write .espctl.toml into an existing ESP-IDF project if it has none (never overwrites), and .idf-version when idf_version is given and the file is missing. Safe to repeat.',
      input: {
        ...projectInput,
        name: ProjectName.optional().describe('Project name for [project] name; default: from CMakeLists.txt'),
        target: Target.optional(),
        idf_version: IdfVersion.optional().describe('Also write .idf-version with this version if missing'),
      },
      output: writeResult,
      annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true },
    },
    async (args) => {
      const project = openProject(ctx, args);
      const config = await loadProjectConfig(project);
      const written: string[] = [];
      const skipped: string[] = [];
      if (config.toml) skipped.push(ESPCTL_TOML);
      else {
        const toml: EspctlToml = {};
        const name = args.name ?? config.name;
        if (name) toml.project = { name };
        if (args.target || args.idf_version) toml.build = { target: args.target, idf_version: args.idf_version };
        await project.write(ESPCTL_TOML, stringifyEspctlToml(toml));
        written.push(ESPCTL_TOML);
      }
      if (args.idf_version) {
        if (config.idfVersionFile !== undefined) skipped.push(IDF_VERSION_FILE);
        else {
          await project.write(IDF_VERSION_FILE, args.idf_version + '\n');
          written.push(IDF_VERSION_FILE);
        }
      }
      return writeOutput(project, written, skipped);
    },
  );

  defineTool(
    server,
    {
      name: 'project.create',
      title: 'Create a project from a template',
      description:
        'Create a new ESP-IDF project <parent_dir>/<name> from a template (hello_world, blink, hello_cpp, nvs_counter, empty; each builds for esp32c3 and esp32): CMakeLists.txt with project(name), main/CMakeLists.txt, main/<name>.c (.cpp for hello_cpp), .espctl.toml; blink adds main/Kconfig.projbuild and sdkconfig.defaults (with `board`, its LED pin in sdkconfig.defaults.<target>). Refuses to overwrite an existing project. Over HTTP the files are returned instead of written.',
      input: {
        name: ProjectName,
        template: TemplateName.default('hello_world'),
        target: Target.optional(),
        board: BoardId.optional().describe('blink only: the board whose LED GPIO to use (changeable in menuconfig).'),
        parent_dir: z
          .string()
          .min(1)
          .max(1024)
          .optional()
          .describe('Directory to create the project in (stdio only). Default: working directory.'),
      },
      output: writeResult,
      annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false },
    },
    async (args) => {
      const files = renderTemplate(args.template, args.name, args.target, args.board);
      let project: ProjectFiles;
      if (ctx.transport === 'http') {
        if (args.parent_dir)
          throw new EspctlError(
            'project_dir_unavailable',
            'Over HTTP the server cannot write to your disk; omit parent_dir and save the returned files.',
          );
        project = new InlineProject();
      } else {
        const dir = path.resolve(ctx.cwd, args.parent_dir ?? '.', args.name);
        project = new DiskProject(dir);
        if ((await project.exists('CMakeLists.txt')) || (await project.exists('main'))) {
          throw new EspctlError('project_exists', `${dir} already holds a project; choose another name or directory.`);
        }
      }
      for (const [rel, content] of Object.entries(files)) await project.write(rel, content);
      return writeOutput(project, Object.keys(files), []);
    },
  );

  defineTool(
    server,
    {
      name: 'project.create_component',
      title: 'Add a component',
      description:
        'Add components/<name>/ (CMakeLists.txt with idf_component_register, include/<name>.h, <name>.c). Refuses to overwrite.',
      input: { ...projectInput, name: ProjectName },
      output: writeResult,
      annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false },
    },
    async (args) => {
      const project = openProject(ctx, args);
      if (await project.exists(`components/${args.name}`)) {
        throw new EspctlError('component_exists', `Component "${args.name}" already exists in ${project.label}.`);
      }
      const files = renderComponent(args.name);
      for (const [rel, content] of Object.entries(files)) await project.write(rel, content);
      return writeOutput(project, Object.keys(files), []);
    },
  );

  defineTool(
    server,
    {
      name: 'set_target',
      title: 'Set the project target chip',
      description:
        'Set [build] target in .espctl.toml (creating it if needed). The next build runs idf.py set-target when the chip changed.',
      input: { ...projectInput, target: Target },
      output: writeResult,
      annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true },
    },
    async (args) => {
      const project = openProject(ctx, args);
      const toml = await readToml(project);
      if (toml.build?.target === args.target) return writeOutput(project, [], [ESPCTL_TOML]);
      toml.build = { ...toml.build, target: args.target };
      await project.write(ESPCTL_TOML, stringifyEspctlToml(toml));
      return writeOutput(project, [ESPCTL_TOML], []);
    },
  );

  defineTool(
    server,
    {
      name: 'validate_config',
      title: 'Validate project configuration',
      description:
        'Check .espctl.toml (TOML syntax and schema), .idf-version and the ESP-IDF layout. Reports the bad key and line.',
      input: { ...projectInput },
      output: {
        valid: z.boolean(),
        errors: z.array(z.object({ code: z.string(), message: z.string() })),
        warnings: z.array(z.string()),
        config: configShape.optional(),
      },
      annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true },
    },
    async (args) => {
      const project = openProject(ctx, args);
      try {
        const c = await loadProjectConfig(project);
        const files = await project.list();
        const warnings: string[] = [];
        if (!c.hasCMakeLists) warnings.push('No CMakeLists.txt at the project root.');
        if (!files.some((f) => f.startsWith('main/'))) warnings.push('No main/ component.');
        if (!c.toml) warnings.push('No .espctl.toml; run project.init to create one.');
        return {
          valid: true,
          errors: [],
          warnings,
          config: {
            name: c.name,
            target: c.target,
            idf_version: c.idfVersion,
            idf_version_source: c.idfVersionSource,
            profile: c.profile,
            has_cmakelists: c.hasCMakeLists,
          },
        };
      } catch (err) {
        const body = toErrorBody(err);
        if (body.code === 'internal_error') throw err;
        return { valid: false, errors: [{ code: body.code, message: body.message }], warnings: [] };
      }
    },
  );

  defineTool(
    server,
    {
      name: 'idf_select_version',
      aliases: ['idf.select_version'],
      title: 'Select the ESP-IDF version',
      description:
        'Pin the project to an ESP-IDF version by writing .idf-version (default) or [build] idf_version in .espctl.toml. Checks the version exists in the store when the store list is available.',
      input: {
        ...projectInput,
        version: IdfVersion,
        write_to: z.enum(['idf-version', 'espctl-toml']).default('idf-version'),
      },
      output: {
        ...writeResult,
        available: z.boolean().describe('Whether the store lists this version (false if unknown)'),
      },
      annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true },
    },
    async (args) => {
      const project = openProject(ctx, args);
      const catalog = await ctx.catalog();
      const available = catalog.versions.some((v) => v.version === args.version);
      if (catalog.versions.length > 0 && !available) {
        throw new EspctlError(
          'idf_version_unknown',
          `ESP-IDF ${args.version} is not in the store; available: ${catalog.versions.map((v) => v.version).join(', ')}.`,
        );
      }
      if (args.write_to === 'idf-version') {
        const cur = (await project.read(IDF_VERSION_FILE))?.trim();
        if (cur === args.version) return { ...writeOutput(project, [], [IDF_VERSION_FILE]), available };
        await project.write(IDF_VERSION_FILE, args.version + '\n');
        return { ...writeOutput(project, [IDF_VERSION_FILE], []), available };
      }
      const toml = await readToml(project);
      if (toml.build?.idf_version === args.version) return { ...writeOutput(project, [], [ESPCTL_TOML]), available };
      toml.build = { ...toml.build, idf_version: args.version };
      await project.write(ESPCTL_TOML, stringifyEspctlToml(toml));
      return { ...writeOutput(project, [ESPCTL_TOML], []), available };
    },
  );
}
