import { readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';

export const ROOT = resolve(import.meta.dirname, '..', '..', '..');
export const PEER = join(ROOT, 'libs/peer');

/** Bare packages the browser entry may reach (they are browser-safe themselves). */
const ALLOWED_PACKAGES = new Set(['zod', 'eventsource-parser']);
/** Our own packages the walk follows into (their source must be browser-safe too). */
const WORKSPACE: Record<string, string> = { '@aegis/protocol': join(ROOT, 'libs/protocol/src/index.ts') };
const NODE_BUILTINS = new Set(builtinModules.flatMap((m) => [m, `node:${m}`]));

/** Source without comments, so a comment that mentions Buffer does not count. */
const code = (text: string) => text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:'"`])\/\/.*$/gm, '$1');

const specifiers = (text: string) =>
  [...text.matchAll(/(?:from|import)\s*\(?\s*'([^']+)'/g), ...text.matchAll(/require\(\s*'([^']+)'\s*\)/g)].map(
    (m) => m[1],
  );

/**
 * Walks the static import graph from `entry` (relative `.js` specifiers map to `.ts` sources) and returns every
 * problem a browser bundle would have: a Node built-in, werift, an unknown package, or a Node global in code.
 */
export function browserProblems(entry: string): { files: string[]; problems: string[] } {
  const seen = new Set<string>();
  const problems: string[] = [];
  const queue = [entry];
  while (queue.length) {
    const file = queue.pop()!;
    if (seen.has(file)) continue;
    seen.add(file);
    const text = code(readFileSync(file, 'utf8'));
    const where = relative(ROOT, file);
    for (const spec of specifiers(text)) {
      if (spec.startsWith('.')) queue.push(resolve(dirname(file), spec.replace(/\.js$/, '.ts')));
      else if (WORKSPACE[spec]) queue.push(WORKSPACE[spec]);
      else if (NODE_BUILTINS.has(spec) || spec.startsWith('node:')) problems.push(`${where} imports ${spec}`);
      else if (spec === 'werift' || spec.startsWith('werift/')) problems.push(`${where} imports ${spec} (Node-only)`);
      else if (!ALLOWED_PACKAGES.has(spec)) problems.push(`${where} imports ${spec} (not known to be browser-safe)`);
    }
    for (const m of text.matchAll(/\b(Buffer|process|__dirname|require)\b/g))
      problems.push(`${where} uses the Node global ${m[1]}`);
  }
  return { files: [...seen].map((f) => relative(ROOT, f)), problems };
}
