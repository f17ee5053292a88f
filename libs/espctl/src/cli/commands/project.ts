import type { Command } from 'commander';
import { Option } from 'commander';
import { stringifyEspctlToml, ESPCTL_TOML } from '../../config/espctl-toml.js';
import { IDF_VERSION_FILE, loadProjectConfig } from '../../config/project-config.js';
import { DiskProject } from '../../config/project-files.js';
import { EspctlError } from '../../errors.js';
import { BoardId, ProjectName, renderTemplate, TemplateName } from '../../project/templates.js';
import { IdfVersion, type EspctlToml, type Target } from '@aegis/protocol';
import { targetOption, type CommandEnv } from '../program.js';

function checkName(name: string): string {
  const r = ProjectName.safeParse(name);
  if (!r.success) throw new EspctlError('invalid_input', `Name "${name}": ${r.error.issues[0].message}.`);
  return name;
}

export function registerProjectCommands(program: Command, env: CommandEnv): void {
  const project = program.command('project').description('create and configure ESP-IDF projects');

  project
    .command('init')
    .description('write .espctl.toml (only if missing) and .idf-version (with --idf-version, only if missing)')
    .argument('[dir]', 'project directory', '.')
    .option('--name <name>', 'project name (default: from CMakeLists.txt)')
    .addOption(targetOption())
    .option('--idf-version <version>', 'pin the ESP-IDF version')
    .action(async (dir: string, o: { name?: string; target?: Target; idfVersion?: string }) => {
      const p = new DiskProject(env.dir(dir));
      if (o.idfVersion && !IdfVersion.safeParse(o.idfVersion).success)
        throw new EspctlError('invalid_input', `"${o.idfVersion}" is not an IDF version.`);
      const config = await loadProjectConfig(p);
      const written: string[] = [];
      if (!config.toml) {
        const toml: EspctlToml = {};
        const name = o.name ? checkName(o.name) : config.name;
        if (name) toml.project = { name };
        if (o.target || o.idfVersion) toml.build = { target: o.target, idf_version: o.idfVersion };
        await p.write(ESPCTL_TOML, stringifyEspctlToml(toml));
        written.push(ESPCTL_TOML);
      }
      if (o.idfVersion && config.idfVersionFile === undefined) {
        await p.write(IDF_VERSION_FILE, o.idfVersion + '\n');
        written.push(IDF_VERSION_FILE);
      }
      env
        .out()
        .result({ project: p.root, written }, () =>
          written.length
            ? `Wrote ${written.join(', ')} in ${p.root}.`
            : `Nothing to do: ${p.root} is already initialised.`,
        );
    });

  project
    .command('create')
    .description('create <name>/ from a template')
    .argument('<name>', 'project name (letters, digits, _)')
    .addOption(new Option('--template <template>', 'template').choices(TemplateName.options).default('hello_world'))
    .addOption(targetOption())
    .addOption(new Option('--board <board>', 'blink: the board whose LED pin to use').choices(BoardId.options))
    .option('--dir <parent>', 'parent directory', '.')
    .action(async (name: string, o: { template: TemplateName; target?: Target; board?: string; dir: string }) => {
      checkName(name);
      const p = new DiskProject(env.dir(`${o.dir}/${name}`));
      if ((await p.exists('CMakeLists.txt')) || (await p.exists('main'))) {
        throw new EspctlError('project_exists', `${p.root} already holds a project; choose another name or --dir.`);
      }
      const files = renderTemplate(o.template, name, o.target, o.board);
      for (const [rel, content] of Object.entries(files)) await p.write(rel, content);
      env
        .out()
        .result(
          { project: p.root, template: o.template, written: Object.keys(files) },
          () => `Created ${p.root} from ${o.template}.`,
        );
    });
}
