import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/**
 * A small ninja: each step has a command, inputs and an output. A step reruns when its output is missing, its
 * command changed, or any input's content changed (content hashes, not mtimes, so a build directory restored
 * from a cache into a fresh upload is still up to date). Inputs discovered by gcc's depfile count too.
 */
export interface Step {
  /** What ninja would print, e.g. "Building C object esp-idf/main/CMakeFiles/__idf_main.dir/main.c.obj". */
  description: string;
  argv: string[];
  inputs: string[];
  output: string;
  /** gcc -MMD depfile to read after the step ran. */
  depfile?: string;
}

interface StepState {
  cmd: string;
  inputs: Record<string, string>;
}

interface NinjaState {
  v: 1;
  steps: Record<string, StepState>;
}

function hashFile(file: string): string | undefined {
  try {
    return createHash('sha256').update(readFileSync(file)).digest('hex');
  } catch {
    return undefined;
  }
}

/** Parses a Makefile-style depfile (`out: in1 in2 \` …, spaces escaped as `\ `). */
export function parseDepfile(text: string): string[] {
  const body = text.replace(/\\\r?\n/g, ' ');
  const colon = body.search(/:(\s|$)/);
  const rest = colon >= 0 ? body.slice(colon + 1) : '';
  const out: string[] = [];
  let cur = '';
  for (let i = 0; i < rest.length; i++) {
    const c = rest[i];
    if (c === '\\' && rest[i + 1] === ' ') {
      cur += ' ';
      i++;
    } else if (/\s/.test(c)) {
      if (cur) out.push(cur);
      cur = '';
    } else cur += c;
  }
  if (cur) out.push(cur);
  return out;
}

export class Ninja {
  private state: NinjaState;

  constructor(
    private readonly stateFile: string,
    private readonly cwd: string,
  ) {
    let s: NinjaState | undefined;
    try {
      s = JSON.parse(readFileSync(stateFile, 'utf8')) as NinjaState;
    } catch {
      s = undefined;
    }
    this.state = s?.v === 1 ? s : { v: 1, steps: {} };
  }

  private abs(p: string): string {
    return path.resolve(this.cwd, p);
  }

  isDirty(step: Step): boolean {
    const prev = this.state.steps[step.output];
    if (!prev || !existsSync(this.abs(step.output))) return true;
    if (prev.cmd !== step.argv.join('\0')) return true;
    for (const [file, sha] of Object.entries(prev.inputs)) if (hashFile(this.abs(file)) !== sha) return true;
    return step.inputs.some((i) => !(i in prev.inputs));
  }

  /** Runs the dirty steps in order, printing `[i/n] description`. Returns false when a step failed. */
  run(steps: Step[], log: (line: string) => void): { ok: boolean; ran: number } {
    const dirty = steps.filter((s) => this.isDirty(s));
    if (dirty.length === 0) {
      log('ninja: no work to do.');
      return { ok: true, ran: 0 };
    }
    let i = 0;
    for (const step of dirty) {
      i++;
      log(`[${i}/${dirty.length}] ${step.description}`);
      mkdirSync(path.dirname(this.abs(step.output)), { recursive: true });
      const r = spawnSync(step.argv[0], step.argv.slice(1), { cwd: this.cwd, stdio: ['ignore', 'inherit', 'inherit'] });
      if (r.status !== 0) {
        log(`FAILED: ${step.output} `);
        log(step.argv.join(' '));
        if (r.error) log(`${step.argv[0]}: ${r.error.message}`);
        log('ninja: build stopped: subcommand failed.');
        delete this.state.steps[step.output];
        this.save();
        return { ok: false, ran: i };
      }
      const inputs = new Set(step.inputs);
      if (step.depfile && existsSync(this.abs(step.depfile))) {
        for (const d of parseDepfile(readFileSync(this.abs(step.depfile), 'utf8'))) inputs.add(d);
      }
      const hashes: Record<string, string> = {};
      for (const f of inputs) hashes[f] = hashFile(this.abs(f)) ?? 'missing';
      this.state.steps[step.output] = { cmd: step.argv.join('\0'), inputs: hashes };
      this.save();
    }
    return { ok: true, ran: dirty.length };
  }

  private save(): void {
    mkdirSync(path.dirname(this.stateFile), { recursive: true });
    const tmp = `${this.stateFile}.tmp`;
    writeFileSync(tmp, JSON.stringify(this.state));
    renameSync(tmp, this.stateFile);
  }
}
