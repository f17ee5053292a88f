import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { z } from 'zod';

interface PromptDef {
  name: string;
  title: string;
  description: string;
  args: z.ZodRawShape;
  render: (a: Record<string, string | undefined>) => string;
}

const opt = (d: string) => z.string().max(2000).optional().describe(d);

export const PROMPTS: PromptDef[] = [
  {
    name: 'diagnose-build-error',
    title: 'Diagnose a build error',
    description: 'Find and fix the cause of a failed ESP-IDF build.',
    args: {
      task_id: z.string().max(100).describe('The failed build task'),
      focus: opt('File or component to look at first'),
    },
    render: (a) =>
      `The ESP-IDF build ${a.task_id} failed. Call logs.tail with task_id "${a.task_id}" (page with since_seq until more=false), then parse_build_errors on the log. ` +
      `For the first error only: show file:line, explain the cause in one sentence and propose the smallest source change that fixes it${a.focus ? `, starting with ${a.focus}` : ''}. ` +
      'Linker errors (undefined reference) usually mean a missing REQUIRES/PRIV_REQUIRES in the component CMakeLists.txt. Then rebuild with the build tool and confirm with build.status.',
  },
  {
    name: 'optimize-flash-size',
    title: 'Make the firmware smaller',
    description: 'Find what uses flash and suggest sdkconfig and code changes.',
    args: { task_id: z.string().max(100).describe('A successful build task'), target_kb: opt('Size to reach, in KiB') },
    render: (a) =>
      `Run size.run with task_id "${a.task_id}" and detail "components", then detail "files" for the three largest components. ` +
      `List the biggest contributors to flash and DRAM${a.target_kb ? ` and what it takes to get under ${a.target_kb} KiB` : ''}. ` +
      'Suggest, with expected savings: CONFIG_COMPILER_OPTIMIZATION_SIZE, lowering log verbosity (CONFIG_LOG_DEFAULT_LEVEL), disabling unused components, and newlib nano formatting. Do not change partition offsets.',
  },
  {
    name: 'migrate-idf',
    title: 'Migrate to another ESP-IDF version',
    description: 'Move the project to a new ESP-IDF version and fix what breaks.',
    args: {
      to_version: z.string().max(40).describe('ESP-IDF version to move to, e.g. 5.3.1'),
      from_version: opt('Current version (default: from .idf-version)'),
    },
    render: (a) =>
      `Migrate this project${a.from_version ? ` from ESP-IDF ${a.from_version}` : ''} to ESP-IDF ${a.to_version}. First call store_versions to check ${a.to_version} is available, ` +
      `then idf_select_version with version "${a.to_version}", then build. For each error, consult the ESP-IDF migration guide for that major version (driver renames, removed legacy APIs, component REQUIRES) and fix the source. Report every change you made.`,
  },
  {
    name: 'first-build',
    title: 'First build',
    description: 'Create a project from a template and build it end to end.',
    args: {
      name: z.string().max(48).describe('Project name'),
      template: opt('hello_world (default), blink, hello_cpp, nvs_counter or empty'),
      target: opt('Chip, e.g. esp32c3'),
    },
    render: (a) =>
      `Create an ESP-IDF project named "${a.name}" with project.create (template ${a.template ?? 'hello_world'}${a.target ? `, target ${a.target}` : ''}). ` +
      'Run doctor and fix anything it reports. Call generate_build_plan and summarise the steps, then build. Poll build.status until it ends, read the log with logs.tail, and on success list the firmware with firmware.list and download it with firmware.download.',
  },
  {
    name: 'flash-and-monitor',
    title: 'Flash and watch the serial output',
    description: 'Flash a build onto a board and check it boots.',
    args: {
      job_id: z.string().max(100).describe('Job of a successful build'),
      port: opt('Serial port, e.g. /dev/ttyUSB0'),
      expect: opt('Text the app should print'),
    },
    render: (a) =>
      `Flash job ${a.job_id} with flash.run${a.port ? ` on ${a.port}` : ''}. Then run monitor.run for 10 seconds${a.port ? ` on ${a.port}` : ''}` +
      `${a.expect ? ` and check the output contains "${a.expect}"` : ''}. If the board resets in a loop (rst:0xc, Guru Meditation), decode the backtrace addresses and explain the crash.`,
  },
  {
    name: 'add-component',
    title: 'Add a component',
    description: 'Add a new component and use it from main.',
    args: { name: z.string().max(48).describe('Component name'), purpose: opt('What the component should do') },
    render: (a) =>
      `Add a component "${a.name}" with project.create_component${a.purpose ? ` that will ${a.purpose}` : ''}. ` +
      `Implement its API in components/${a.name}/${a.name}.c and include/${a.name}.h, call it from app_main, and add it to REQUIRES of main if main has an explicit REQUIRES list. Build to confirm.`,
  },
  {
    name: 'switch-target',
    title: 'Switch the target chip',
    description: 'Move the project to another ESP32 chip.',
    args: {
      target: z.string().max(16).describe('New chip, e.g. esp32s3'),
      task_id: opt('Task of a connected build to run set-target on'),
    },
    render: (a) =>
      `Switch this project to ${a.target}: call set_target with target "${a.target}"${a.task_id ? ` and set_target.run on task ${a.task_id}` : ''}, check idf.versions supports ${a.target}, ` +
      'review GPIO numbers and peripherals the code uses that differ on the new chip (e.g. LED pin, ADC channels, USB-Serial-JTAG vs UART console), then build.',
  },
  {
    name: 'review-sdkconfig',
    title: 'Review sdkconfig',
    description: 'Review the project configuration for risky or wasteful settings.',
    args: { goal: opt('What matters most: size, speed, power or security') },
    render: (a) =>
      `Read project://sdkconfig and project://config. Review the settings${a.goal ? ` with ${a.goal} as the priority` : ''}: flash size and mode, partition table, log level, optimisation level, watchdogs, ` +
      'secure boot / flash encryption state, and any option left at a debug value. List each finding with the CONFIG_ name, its value, the suggested value and why.',
  },
];

export function registerPrompts(server: McpServer): void {
  for (const p of PROMPTS) {
    const register = server.registerPrompt.bind(server) as unknown as (
      n: string,
      c: Record<string, unknown>,
      cb: (args: Record<string, string | undefined>) => unknown,
    ) => void;
    register(p.name, { title: p.title, description: p.description, argsSchema: p.args }, (args) => ({
      description: p.description,
      messages: [{ role: 'user', content: { type: 'text', text: p.render(args) } }],
    }));
  }
}
