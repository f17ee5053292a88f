/**
 * idf.py of the TEST TOOLCHAIN (not ESP-IDF). It keeps the real CLI contract — `set-target`, `build`,
 * `size --format json`, `fullclean`, `menuconfig`, `-C`, `-B` — and really compiles `main/*.c` for the RISC-V
 * ESP chips with Debian's riscv64-unknown-elf-gcc, links, and writes the app image, the bootloader, the partition
 * table, `flasher_args.json` and `project_description.json` with libs/esp, like an ESP-IDF 5 build directory.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FlashFreq, FlashMode, FlashSize, Target } from '@aegis/protocol';
import { ALL_TARGETS, linkerScript, SUPPORTED_TARGETS, TEST_CHIPS, type TestChip } from './chips.js';
import { csvToPartitionTable, elfToBin, type FlashSettings } from './images.js';
import { menuconfig } from './menuconfig.js';
import { Ninja, type Step } from './ninja.js';
import { readCmakeProject, readSdkconfig, writeSdkconfig, type Sdkconfig } from './project.js';
import { sizeSummary } from './size.js';
import { sizeComponentsFromMap, sizeFilesFromMap, type SizeEntry } from './size-map.js';

const TOOLS_DIR = path.dirname(fileURLToPath(import.meta.url));
const IDF_PATH = process.env.IDF_PATH || path.dirname(TOOLS_DIR);
const IDF_VERSION = readFileSync(path.join(IDF_PATH, 'version.txt'), 'utf8').trim();
const BIN = path.join(TOOLS_DIR, 'bin');
const GCC = path.join(BIN, 'riscv64-unknown-elf-gcc');
const DEFAULT_TARGET: Target = 'esp32c3';

class FatalError extends Error {}

const out = (s: string): void => void process.stdout.write(s + '\n');

interface Ctx {
  projectDir: string;
  buildDir: string;
  /** `-D SDKCONFIG_DEFAULTS=a;b`: defaults files (relative to the project) used when sdkconfig is created. */
  sdkconfigDefaults: string[];
}

function parseArgs(argv: string[]): { ctx: Ctx; commands: string[][] } {
  let projectDir = process.cwd();
  let buildDir: string | undefined;
  let sdkconfigDefaults = ['sdkconfig.defaults'];
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const define = a === '-D' ? argv[++i] : a.startsWith('-D') ? a.slice(2) : undefined;
    if (define !== undefined) {
      const m = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(define ?? '');
      if (!m) throw new FatalError(`Error: -D expects NAME=VALUE, got '${define ?? ''}'`);
      if (m[1] === 'SDKCONFIG_DEFAULTS') sdkconfigDefaults = m[2].split(';').filter(Boolean);
      continue;
    }
    if (a === '-C' || a === '--project-dir') projectDir = path.resolve(argv[++i] ?? '.');
    else if (a === '-B' || a === '--build-dir') buildDir = argv[++i];
    else if (a.startsWith('-C') && a.length > 2) projectDir = path.resolve(a.slice(2));
    else if (a.startsWith('-B') && a.length > 2) buildDir = a.slice(2);
    else rest.push(a);
  }
  const ctx = { projectDir, buildDir: path.resolve(projectDir, buildDir ?? 'build'), sdkconfigDefaults };
  // Commands with their own options: `size --format json`, `set-target esp32c3`.
  const commands: string[][] = [];
  for (const a of rest) {
    if (
      a.startsWith('-') ||
      (commands.length &&
        commands[commands.length - 1][0] === 'set-target' &&
        commands[commands.length - 1].length === 1)
    ) {
      if (!commands.length) throw new FatalError(`Error: No such option: ${a}`);
      commands[commands.length - 1].push(a);
    } else if (commands.length && commands[commands.length - 1].at(-1) === '--format')
      commands[commands.length - 1].push(a);
    else commands.push([a]);
  }
  return { ctx, commands: commands.length ? commands : [['build']] };
}

function sdkconfigFile(ctx: Ctx): string {
  return path.join(ctx.projectDir, 'sdkconfig');
}

function defaultConfig(target: Target, ctx: Ctx): Sdkconfig {
  const projectDir = ctx.projectDir;
  const chip = TEST_CHIPS[target] as TestChip;
  const cfg: Sdkconfig = new Map([
    ['CONFIG_IDF_TARGET', target],
    [`CONFIG_IDF_TARGET_${target.toUpperCase()}`, 'y'],
    ['CONFIG_IDF_TARGET_ARCH_RISCV', 'y'],
    ['CONFIG_ESPTOOLPY_FLASHMODE', 'dio'],
    ['CONFIG_ESPTOOLPY_FLASHFREQ', chip.flashFreq],
    ['CONFIG_ESPTOOLPY_FLASHSIZE', '2MB'],
    ['CONFIG_COMPILER_OPTIMIZATION', 'size'],
    ['CONFIG_PARTITION_TABLE_SINGLE_APP', 'y'],
    ['CONFIG_PARTITION_TABLE_CUSTOM', 'n'],
    ['CONFIG_PARTITION_TABLE_CUSTOM_FILENAME', 'partitions.csv'],
    ['CONFIG_PARTITION_TABLE_OFFSET', '0x8000'],
  ]);
  for (const file of ctx.sdkconfigDefaults) {
    const defaults = readSdkconfig(path.resolve(projectDir, file));
    for (const [k, v] of defaults ?? []) if (!k.startsWith('CONFIG_IDF_TARGET')) cfg.set(k, v);
  }
  return cfg;
}

function checkTarget(t: string): Target {
  if (!(ALL_TARGETS as string[]).includes(t)) {
    throw new FatalError(
      `Error: Invalid value for '{${ALL_TARGETS.join('|')}}': '${t}' is not one of ${ALL_TARGETS.map((x) => `'${x}'`).join(', ')}.`,
    );
  }
  if (!(SUPPORTED_TARGETS as string[]).includes(t)) {
    throw new FatalError(
      `Error: the test toolchain (${IDF_VERSION}) only supports ${SUPPORTED_TARGETS.join(', ')}; target '${t}' needs a real ESP-IDF (scripts/provision-store.sh).`,
    );
  }
  return t as Target;
}

/** The project's config, created for the default target on first use (ESP-IDF would pick esp32). */
function loadConfig(ctx: Ctx): Sdkconfig {
  const file = sdkconfigFile(ctx);
  let cfg = readSdkconfig(file);
  if (!cfg) {
    const envTarget = process.env.IDF_TARGET ? checkTarget(process.env.IDF_TARGET) : DEFAULT_TARGET;
    cfg = defaultConfig(envTarget, ctx);
    writeSdkconfig(file, cfg, IDF_VERSION);
  }
  checkTarget(cfg.get('CONFIG_IDF_TARGET') ?? DEFAULT_TARGET);
  return cfg;
}

function setTarget(ctx: Ctx, target: string | undefined): void {
  if (!target) throw new FatalError("Error: Missing argument 'TARGET'.");
  const t = checkTarget(target);
  out(`Set Target to: ${t}, new sdkconfig will be created.`);
  rmSync(ctx.buildDir, { recursive: true, force: true });
  const file = sdkconfigFile(ctx);
  if (existsSync(file)) rmSync(file);
  writeSdkconfig(file, defaultConfig(t, ctx), IDF_VERSION);
  out(`-- Configuring done`);
  out(`-- Build files have been written to: ${ctx.buildDir}`);
}

function fullclean(ctx: Ctx): void {
  out('Executing action: fullclean');
  if (!existsSync(ctx.buildDir)) {
    out(`Build directory '${ctx.buildDir}' not found. Nothing to clean.`);
    return;
  }
  if (readdirSync(ctx.buildDir).length && !existsSync(path.join(ctx.buildDir, '.ninja_state.json'))) {
    throw new FatalError(
      `Directory '${ctx.buildDir}' doesn't seem to be a build directory. Refusing to automatically delete files in this directory. Delete the directory manually to 'clean' it.`,
    );
  }
  rmSync(ctx.buildDir, { recursive: true, force: true });
  out(`Done`);
}

function flashSettings(cfg: Sdkconfig): FlashSettings {
  return {
    mode: (cfg.get('CONFIG_ESPTOOLPY_FLASHMODE') ?? 'dio') as FlashMode,
    freq: (cfg.get('CONFIG_ESPTOOLPY_FLASHFREQ') ?? '80m') as FlashFreq,
    size: (cfg.get('CONFIG_ESPTOOLPY_FLASHSIZE') ?? '2MB') as FlashSize,
  };
}

function optFlag(cfg: Sdkconfig): string {
  const o = cfg.get('CONFIG_COMPILER_OPTIMIZATION');
  return o === 'debug' ? '-Og' : o === 'perf' ? '-O2' : o === 'none' ? '-O0' : '-Os';
}

/** Runs `execute_process` calls from CMakeLists.txt (configure time), as CMake would. */
function configure(ctx: Ctx, target: Target, project: ReturnType<typeof readCmakeProject>): void {
  out(`Running cmake in directory ${ctx.buildDir}`);
  out(`-- Found Git: not used by the test toolchain`);
  out(`-- The C compiler identification is GNU (riscv64-unknown-elf-gcc)`);
  out(`-- Building ESP-IDF components for target ${target}`);
  out(`-- Project sdkconfig file ${sdkconfigFile(ctx)}`);
  for (const ep of project.executeProcesses) {
    if (ep.command.length === 0) continue;
    const r = spawnSync(ep.command[0], ep.command.slice(1), {
      cwd: ep.workingDirectory ?? ctx.buildDir,
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    if (r.error) out(`CMake Error: execute_process failed to run ${ep.command[0]}: ${r.error.message}`);
  }
  out(`-- Configuring done`);
  out(`-- Generating done`);
  out(`-- Build files have been written to: ${ctx.buildDir}`);
}

function build(ctx: Ctx): void {
  const cfg = loadConfig(ctx);
  const target = cfg.get('CONFIG_IDF_TARGET') as Target;
  const chip = TEST_CHIPS[target] as TestChip;
  const vars = {
    CMAKE_CURRENT_SOURCE_DIR: ctx.projectDir,
    CMAKE_SOURCE_DIR: ctx.projectDir,
    CMAKE_BINARY_DIR: ctx.buildDir,
    IDF_PATH,
  };
  const project = readCmakeProject(ctx.projectDir, vars);
  out('Executing action: all (aliases: build)');
  mkdirSync(ctx.buildDir, { recursive: true });
  const stateFile = path.join(ctx.buildDir, '.ninja_state.json');
  const cmakeSig = readFileSync(path.join(ctx.projectDir, 'CMakeLists.txt'), 'utf8') + target;
  const sigFile = path.join(ctx.buildDir, 'CMakeCache.txt');
  if (!existsSync(sigFile) || readFileSync(sigFile, 'utf8') !== cmakeSig) {
    configure(ctx, target, project);
    writeFileSync(sigFile, cmakeSig);
  }

  // Project files by relative path (stable when a cached build directory moves to a new workspace), the
  // store by absolute path (it is mounted at the same place everywhere).
  const rel = (p: string): string => {
    const r = path.relative(ctx.projectDir, p);
    return r === '' ? '.' : r.startsWith('..') ? p : r;
  };
  const b = (...p: string[]): string => path.join(ctx.buildDir, ...p);
  const comp = (...p: string[]): string => path.join(IDF_PATH, 'components', ...p);
  const ldDir = b('esp-idf', 'esp_system', 'ld');
  mkdirSync(ldDir, { recursive: true });
  const appLd = path.join(ldDir, 'memory.ld');
  const bootLd = b('bootloader', 'bootloader.ld');
  mkdirSync(path.dirname(bootLd), { recursive: true });
  writeIfChanged(appLd, linkerScript(chip, 'app'));
  writeIfChanged(bootLd, linkerScript(chip, 'bootloader'));

  const mainDir = path.join(ctx.projectDir, 'main');
  const sources = existsSync(mainDir)
    ? readdirSync(mainDir)
        .filter((f) => f.endsWith('.c'))
        .sort()
    : [];
  if (sources.length === 0)
    throw new FatalError(`No C sources found in ${mainDir}; the test toolchain builds main/*.c.`);
  const cflags = [
    `-march=${chip.march}`,
    '-mabi=ilp32',
    optFlag(cfg),
    '-ggdb',
    '-std=gnu17',
    '-ffreestanding',
    '-fno-builtin-printf',
    '-ffunction-sections',
    '-fdata-sections',
    '-fno-common',
    '-Wall',
    '-Werror=all',
    '-Wno-error=unused-function',
    '-Wno-error=unused-variable',
    '-Wno-error=unused-but-set-variable',
    '-fdiagnostics-color=never',
    `-I${rel(comp('libc', 'include'))}`,
    `-I${rel(mainDir)}`,
    `-I${rel(path.join(mainDir, 'include'))}`,
  ];
  const cc = (src: string, obj: string, extra: string[] = []): Step => ({
    description: `Building C object ${path.relative(ctx.buildDir, obj)}`,
    argv: [GCC, ...cflags, ...extra, '-MMD', '-MF', `${rel(obj)}.d`, '-c', rel(src), '-o', rel(obj)],
    inputs: [rel(src)],
    output: rel(obj),
    depfile: `${rel(obj)}.d`,
  });
  const objs = (dir: string, name: string): string =>
    b('esp-idf', dir, 'CMakeFiles', `__idf_${dir}.dir`, `${name}.obj`);

  const bootObj = b('bootloader', 'esp-idf', 'main', 'CMakeFiles', '__idf_main.dir', 'bootloader_start.c.obj');
  const bootElf = b('bootloader', 'bootloader.elf');
  const appElf = b(`${project.name}.elf`);
  const appSteps: Step[] = sources.map((s) => cc(path.join(mainDir, s), objs('main', s)));
  const descObj = objs('esp_app_format', 'esp_app_desc.c');
  const q = (s: string): string => JSON.stringify(s.slice(0, 31));
  appSteps.push(
    cc(comp('esp_app_format', 'esp_app_desc.c'), descObj, [
      `-DPROJECT_NAME=${q(project.name)}`,
      `-DPROJECT_VER=${q(project.version)}`,
      `-DIDF_VER=${q(IDF_VERSION)}`,
    ]),
    cc(comp('esp_system', 'startup.c'), objs('esp_system', 'startup.c')),
    cc(comp('libc', 'string.c'), objs('libc', 'string.c')),
  );
  const link = (objsIn: string[], ld: string, elf: string, map: string): Step => ({
    description: `Linking C executable ${path.relative(ctx.buildDir, elf)}`,
    argv: [
      GCC,
      '-march=rv32imc',
      '-mabi=ilp32',
      '-nostdlib',
      '-T',
      rel(ld),
      '-Wl,--gc-sections',
      `-Wl,-Map=${rel(map)}`,
      ...objsIn.map(rel),
      '-lgcc',
      '-o',
      rel(elf),
    ],
    inputs: [...objsIn.map(rel), rel(ld)],
    output: rel(elf),
  });
  const steps: Step[] = [
    cc(comp('bootloader', 'bootloader_start.c'), bootObj),
    link([bootObj], bootLd, bootElf, b('bootloader', 'bootloader.map')),
    ...appSteps,
    link(
      appSteps.map((s) => path.join(ctx.projectDir, s.output)),
      appLd,
      appElf,
      b(`${project.name}.map`),
    ),
  ];
  out(`Running ninja in directory ${ctx.buildDir}`);
  out('Executing "ninja all"...');
  const ninja = new Ninja(stateFile, ctx.projectDir);
  const r = ninja.run(steps, out);
  if (!r.ok)
    throw new FatalError(
      `ninja failed with exit code 1, output of the command is in the ${b('log', 'idf_py_stderr_output')} and ${b('log', 'idf_py_stdout_output')}`,
    );

  const flash = flashSettings(cfg);
  const appBin = b(`${project.name}.bin`);
  const bootBin = b('bootloader', 'bootloader.bin');
  const ptBin = b('partition_table', 'partition-table.bin');
  if (r.ran > 0 || !existsSync(appBin) || !existsSync(bootBin) || !existsSync(ptBin)) {
    out('Generating binary image from built executable');
    out(
      `test-toolchain elf2image (libs/esp) --chip ${target} --flash_mode ${flash.mode} --flash_freq ${flash.freq} --flash_size ${flash.size}`,
    );
    out(`Creating ${target} image...`);
    const bootSize = elfToBin(target, bootElf, bootBin, flash);
    const appSize = elfToBin(target, appElf, appBin, flash);
    out(`Successfully created ${target} image.`);
    out(`Generated ${appBin}`);
    const csv =
      cfg.get('CONFIG_PARTITION_TABLE_CUSTOM') === 'y'
        ? path.join(ctx.projectDir, cfg.get('CONFIG_PARTITION_TABLE_CUSTOM_FILENAME') ?? 'partitions.csv')
        : comp('partition_table', 'partitions_singleapp.csv');
    const parts = csvToPartitionTable(csv, ptBin);
    out(`Partition table binary generated. Contents:`);
    for (const p of parts)
      out(`${p.name},${p.type},${p.subtype},0x${p.offset.toString(16)},${Math.round(p.size / 1024)}K,`);
    const app = parts.find((p) => p.type === 'app');
    if (!app) throw new FatalError(`Partition table ${csv} has no app partition.`);
    const ptOffset = Number(cfg.get('CONFIG_PARTITION_TABLE_OFFSET') ?? '0x8000');
    if (appSize > app.size) {
      throw new FatalError(
        `Error: app partition is too small for binary ${project.name}.bin size 0x${appSize.toString(16)}: Part '${app.name}' @ 0x${app.offset.toString(16)} size 0x${app.size.toString(16)} (overflow 0x${(appSize - app.size).toString(16)})`,
      );
    }
    out(
      `${project.name}.bin binary size 0x${appSize.toString(16)} bytes. Smallest app partition is 0x${app.size.toString(16)} bytes. 0x${(app.size - appSize).toString(16)} bytes (${Math.round(((app.size - appSize) / app.size) * 100)}%) free.`,
    );
    out(`Bootloader binary size 0x${bootSize.toString(16)} bytes.`);
    writeFlasherArgs(ctx, target, flash, project.name, app.offset, ptOffset);
    writeProjectDescription(ctx, target, project);
  }
  out('');
  out('Project build complete. To flash, run:');
  out(' idf.py flash');
  out('or');
  out(` idf.py -p PORT flash`);
}

function writeIfChanged(file: string, text: string): void {
  if (existsSync(file) && readFileSync(file, 'utf8') === text) return;
  writeFileSync(file, text);
}

function writeFlasherArgs(
  ctx: Ctx,
  target: Target,
  flash: FlashSettings,
  name: string,
  appOffset: number,
  ptOffset: number,
): void {
  const hex = (n: number): string => `0x${n.toString(16)}`;
  const bootloaderOffset = 0x0;
  const fa = {
    write_flash_args: ['--flash_mode', flash.mode, '--flash_size', flash.size, '--flash_freq', flash.freq],
    flash_settings: { flash_mode: flash.mode, flash_size: flash.size, flash_freq: flash.freq },
    flash_files: {
      [hex(bootloaderOffset)]: 'bootloader/bootloader.bin',
      [hex(appOffset)]: `${name}.bin`,
      [hex(ptOffset)]: 'partition_table/partition-table.bin',
    },
    bootloader: { offset: hex(bootloaderOffset), file: 'bootloader/bootloader.bin', encrypted: 'false' },
    app: { offset: hex(appOffset), file: `${name}.bin`, encrypted: 'false' },
    'partition-table': { offset: hex(ptOffset), file: 'partition_table/partition-table.bin', encrypted: 'false' },
    extra_esptool_args: { after: 'hard_reset', before: 'default_reset', stub: true, chip: target },
  };
  writeFileSync(path.join(ctx.buildDir, 'flasher_args.json'), JSON.stringify(fa, null, 4) + '\n');
}

function writeProjectDescription(ctx: Ctx, target: Target, project: ReturnType<typeof readCmakeProject>): void {
  const d = {
    version: '1.2',
    project_name: project.name,
    project_version: project.version,
    project_path: ctx.projectDir,
    idf_path: IDF_PATH,
    build_dir: ctx.buildDir,
    config_file: sdkconfigFile(ctx),
    config_defaults: '',
    bootloader_elf: path.join(ctx.buildDir, 'bootloader', 'bootloader.elf'),
    app_elf: `${project.name}.elf`,
    app_bin: `${project.name}.bin`,
    build_type: 'flash_app',
    git_revision: IDF_VERSION,
    target,
    rev: '',
    min_rev: '',
    max_rev: '',
    phy_data_partition: '',
    monitor_baud: '115200',
    monitor_toolprefix: 'riscv64-unknown-elf-',
    c_compiler: GCC,
    config_environment: { COMPONENT_KCONFIGS: '', COMPONENT_KCONFIGS_PROJBUILD: '' },
    common_component_reqs: [],
    build_components: ['main', 'esp_app_format', 'esp_system', 'libc', 'bootloader', 'partition_table'],
    build_component_paths: [],
    build_component_info: {},
    all_component_info: {},
    debug_prefix_map_gdbinit: '',
    test_toolchain: true,
  };
  writeFileSync(path.join(ctx.buildDir, 'project_description.json'), JSON.stringify(d, null, 4) + '\n');
}

function size(ctx: Ctx, args: string[]): void {
  const fmtAt = args.indexOf('--format');
  const fmt = fmtAt >= 0 ? args[fmtAt + 1] : 'text';
  const desc = path.join(ctx.buildDir, 'project_description.json');
  if (!existsSync(desc)) throw new FatalError(`Error: ${ctx.buildDir} has no build yet; run idf.py build first.`);
  const d = JSON.parse(readFileSync(desc, 'utf8')) as { app_elf: string; target: Target };
  const chip = TEST_CHIPS[d.target] as TestChip;
  const summary = sizeSummary(path.join(BIN, 'riscv64-unknown-elf-size'), path.join(ctx.buildDir, d.app_elf), chip);
  if (fmt === 'json') out(JSON.stringify(summary, null, 4));
  else {
    out(`Total sizes:`);
    out(
      `Used static DRAM: ${summary.used_dram} bytes (${summary.dram_remain} remain, ${(summary.used_dram_ratio * 100).toFixed(1)}% used)`,
    );
    out(
      `Used static IRAM: ${summary.used_iram} bytes (${summary.iram_remain} remain, ${(summary.used_iram_ratio * 100).toFixed(1)}% used)`,
    );
    out(`      Flash rodata: ${summary.flash_rodata} bytes`);
    out(`Total image size: ${summary.total_size} bytes (.bin may be padded larger)`);
  }
}

/** `size-components` (per archive) and `size-files` (per object file), from the app's linker map. */
function sizeDetail(ctx: Ctx, args: string[], by: 'components' | 'files'): void {
  const fmtAt = args.indexOf('--format');
  const fmt = fmtAt >= 0 ? args[fmtAt + 1] : 'text';
  const desc = path.join(ctx.buildDir, 'project_description.json');
  if (!existsSync(desc)) throw new FatalError(`Error: ${ctx.buildDir} has no build yet; run idf.py build first.`);
  const d = JSON.parse(readFileSync(desc, 'utf8')) as { app_elf: string };
  const map = path.join(ctx.buildDir, d.app_elf.replace(/\.elf$/, '.map'));
  if (!existsSync(map)) throw new FatalError(`Error: ${map} is missing; run idf.py build again.`);
  const rows: Record<string, SizeEntry> = by === 'components' ? sizeComponentsFromMap(map) : sizeFilesFromMap(map);
  if (fmt === 'json') out(JSON.stringify(rows, null, 4));
  else {
    out(`Per-${by === 'components' ? 'archive' : 'file'} contributions to ELF file:`);
    out(`${by === 'components' ? 'Archive File' : 'Object File'} flash_total ram_st_total`);
    for (const [k, e] of Object.entries(rows)) out(`${k} ${e.flash_total} ${e.ram_st_total}`);
  }
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  if (argv.includes('--version')) {
    out(`ESP-IDF ${IDF_VERSION} (Aegis test toolchain, not ESP-IDF)`);
    return;
  }
  if (argv.includes('--help') || argv.includes('-h')) {
    out(
      `Usage: idf.py [-C PROJECT_DIR] [-B BUILD_DIR] COMMAND...\n\nAegis TEST TOOLCHAIN ${IDF_VERSION} (targets: ${SUPPORTED_TARGETS.join(', ')})\n\nCommands:\n  build (all, app)  set-target TARGET  size|size-components|size-files [--format json]  fullclean  menuconfig  reconfigure`,
    );
    return;
  }
  const { ctx, commands } = parseArgs(argv);
  for (const [cmd, ...args] of commands) {
    switch (cmd) {
      case 'build':
      case 'all':
      case 'app':
        build(ctx);
        break;
      case 'set-target':
        setTarget(ctx, args[0]);
        break;
      case 'fullclean':
        fullclean(ctx);
        break;
      case 'reconfigure': {
        const cfg = loadConfig(ctx);
        mkdirSync(ctx.buildDir, { recursive: true });
        configure(
          ctx,
          cfg.get('CONFIG_IDF_TARGET') as Target,
          readCmakeProject(ctx.projectDir, {
            CMAKE_CURRENT_SOURCE_DIR: ctx.projectDir,
            CMAKE_SOURCE_DIR: ctx.projectDir,
            CMAKE_BINARY_DIR: ctx.buildDir,
            IDF_PATH,
          }),
        );
        break;
      }
      case 'size':
        size(ctx, args);
        break;
      case 'size-components':
        sizeDetail(ctx, args, 'components');
        break;
      case 'size-files':
        sizeDetail(ctx, args, 'files');
        break;
      case 'menuconfig': {
        const cfg = loadConfig(ctx);
        if (await menuconfig(cfg)) writeSdkconfig(sdkconfigFile(ctx), cfg, IDF_VERSION);
        break;
      }
      default:
        throw new FatalError(
          `Error: No such command '${cmd}'. Supported by the test toolchain: build, set-target, size, size-components, size-files, fullclean, menuconfig, reconfigure.`,
        );
    }
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(e instanceof FatalError ? 2 : 1);
});
