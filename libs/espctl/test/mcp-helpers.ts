import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';

export const here = path.dirname(fileURLToPath(import.meta.url));
export const espctlBin = path.resolve(here, '../bin/espctl.js');
export const noNetworkPreload = path.resolve(here, 'fixtures/no-network.mjs');

/** Every tool and alias issue 7 names; users' configs depend on these exact strings. */
export const TOOL_NAMES = [
  'build',
  'build.start',
  'build.status',
  'build.cancel',
  'set_target.run',
  'generate_build_plan',
  'get_clean_plan',
  'project.init',
  'project.create',
  'project.create_component',
  'set_target',
  'validate_config',
  'idf_select_version',
  'idf.select_version',
  'store_versions',
  'idf.versions',
  'doctor',
  'doctor.run',
  'logs.tail',
  'list_artifacts',
  'artifacts.list',
  'artifacts.manifest',
  'parse_build_errors',
  'parse_size_report',
  'firmware.list',
  'firmware.download',
  'elf.download',
  'flash.run',
  'monitor.run',
  'size.run',
  'sbom.create',
  'diag.run',
  'emulator.run',
  'emulator.stop',
].sort();

export const PROMPT_NAMES = [
  'diagnose-build-error',
  'optimize-flash-size',
  'migrate-idf',
  'first-build',
  'flash-and-monitor',
  'add-component',
  'switch-target',
  'review-sdkconfig',
].sort();

export const INSTALL_URIS = [
  'claude-code',
  'claude-desktop',
  'cursor',
  'vscode',
  'codex',
  'opencode',
  'windsurf',
  'zed',
].map((c) => `install://${c}`);

export function newClient(): Client {
  return new Client({ name: 'espctl-test', version: '0.0.1' });
}

export function textOf(r: CallToolResult): string {
  return r.content.map((c) => (c.type === 'text' ? c.text : '')).join('');
}

export async function call(client: Client, name: string, args: Record<string, unknown>): Promise<CallToolResult> {
  return (await client.callTool({ name, arguments: args })) as CallToolResult;
}

export async function readText(client: Client, uri: string): Promise<string> {
  const r = await client.readResource({ uri });
  const c = r.contents[0];
  return 'text' in c ? c.text : '';
}
