import { createInterface } from 'node:readline';
import type { Sdkconfig } from './project.js';

interface Option {
  key: string;
  label: string;
  choices?: string[];
}

const OPTIONS: Option[] = [
  {
    key: 'CONFIG_COMPILER_OPTIMIZATION',
    label: 'Compiler optimization level',
    choices: ['debug', 'size', 'perf', 'none'],
  },
  { key: 'CONFIG_ESPTOOLPY_FLASHSIZE', label: 'Flash size', choices: ['1MB', '2MB', '4MB', '8MB', '16MB'] },
  { key: 'CONFIG_ESPTOOLPY_FLASHMODE', label: 'Flash SPI mode', choices: ['qio', 'qout', 'dio', 'dout'] },
  { key: 'CONFIG_ESPTOOLPY_FLASHFREQ', label: 'Flash SPI speed', choices: ['80m', '60m', '48m', '40m', '26m', '20m'] },
  { key: 'CONFIG_PARTITION_TABLE_CUSTOM', label: 'Custom partition table CSV (partitions.csv)', choices: ['y', 'n'] },
];

/**
 * A curses-free `idf.py menuconfig`: numbered options, type a number then a value, `s` saves, `q` quits.
 * Returns true when the configuration should be saved.
 */
export async function menuconfig(cfg: Sdkconfig): Promise<boolean> {
  const rl = createInterface({ input: process.stdin, terminal: false });
  // Lines are buffered by the iterator, so answers typed (or piped) ahead are not lost; EOF means quit.
  const lines = rl[Symbol.asyncIterator]();
  const ask = async (prompt: string): Promise<string | undefined> => {
    process.stdout.write(prompt);
    const r = await lines.next();
    return r.done ? undefined : String(r.value);
  };
  try {
    for (;;) {
      process.stdout.write('\n(Top) → Aegis test toolchain configuration\n');
      OPTIONS.forEach((o, i) => process.stdout.write(`  ${i + 1}) ${o.label.padEnd(44)} [${cfg.get(o.key) ?? ''}]\n`));
      const answer = await ask('  s) Save and exit    q) Exit without saving\nChoice: ');
      if (answer === undefined) return false;
      const choice = answer.trim();
      if (choice === 's') {
        process.stdout.write('Configuration saved to sdkconfig\n');
        return true;
      }
      if (choice === 'q' || choice === '') return false;
      const opt = OPTIONS[Number(choice) - 1];
      if (!opt) {
        process.stdout.write(`No option ${choice}\n`);
        continue;
      }
      const value = (await ask(`${opt.label} (${opt.choices?.join('/') ?? 'text'}): `))?.trim();
      if (value === undefined) return false;
      if (opt.choices && !opt.choices.includes(value))
        process.stdout.write(`'${value}' is not one of ${opt.choices.join(', ')}\n`);
      else cfg.set(opt.key, value);
    }
  } finally {
    rl.close();
  }
}
