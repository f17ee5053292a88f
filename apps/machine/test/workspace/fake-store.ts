import { readFileSync } from 'node:fs';
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { elfToAppImage } from '@aegis/esp';
import { PROTOCOL_VERSION } from '@aegis/protocol';

const ELF = fileURLToPath(new URL('../../../../libs/esp/test/fixtures/riscv-app/app.elf', import.meta.url));

/**
 * A tiny store for workspace tests (no ESP-IDF): manifest.json per libs/protocol's StoreManifest, an export script
 * that puts a stub `idf.py` on PATH. The stub keeps idf.py's CLI shape: `set-target T` writes sdkconfig;
 * `build` writes build/flasher_args.json, project_description.json and small images (or, when the project has
 * `fill-mib`, writes that many MiB into build/ first); `size` prints a size report.
 */
export async function makeFakeStore(root: string): Promise<string> {
  const idf = path.join(root, 'idf', 'v5.1.6');
  await mkdir(path.join(idf, 'tools'), { recursive: true });
  await writeFile(path.join(root, 'idf', 'export.sh'), 'export PATH="$IDF_PATH/tools:$PATH"\n');
  const flasherArgs = {
    write_flash_args: ['--flash_mode', 'dio', '--flash_size', '2MB', '--flash_freq', '80m'],
    flash_settings: { flash_mode: 'dio', flash_size: '2MB', flash_freq: '80m' },
    flash_files: {
      '0x0': 'bootloader/bootloader.bin',
      '0x30000': 'partition_table/partition-table.bin',
      '0x40000': 'app.bin',
    },
    bootloader: { offset: '0x0', file: 'bootloader/bootloader.bin', encrypted: 'false' },
    partition_table: { offset: '0x30000', file: 'partition_table/partition-table.bin', encrypted: 'false' },
    app: { offset: '0x40000', file: 'app.bin', encrypted: 'false' },
    extra_esptool_args: { chip: 'esp32c3' },
  };
  const desc = { project_name: 'app', app_elf: 'app.elf', target: 'esp32c3', git_revision: 'v5.1.6' };
  // A real (tiny) esp32c3 app image, so the flash bundle can be made from the stub's outputs.
  const app = elfToAppImage(readFileSync(ELF), {
    chip: 'esp32c3',
    flashMode: 'dio',
    flashFreq: '80m',
    flashSize: '2MB',
    elfSha256Offset: 'none',
  });
  await writeFile(path.join(idf, 'tools', 'app.bin'), app);
  await writeFile(path.join(idf, 'tools', 'app.elf'), readFileSync(ELF));
  const stub = `#!/bin/sh
while [ "$1" = "-D" ]; do shift 2; done
cmd="$1"
case "$cmd" in
  set-target)
    printf 'CONFIG_IDF_TARGET="%s"\\n' "$2" > sdkconfig ;;
  build)
    mkdir -p build/bootloader build/partition_table
    if [ -f fill-mib ]; then
      dd if=/dev/zero of=build/fill bs=1048576 count="$(cat fill-mib)" 2>&1 || exit 2
    fi
    printf '%s' '${JSON.stringify(flasherArgs)}' > build/flasher_args.json
    printf '%s' '${JSON.stringify(desc)}' > build/project_description.json
    cp "$IDF_PATH/tools/app.bin" build/bootloader/bootloader.bin
    printf 'PART' > build/partition_table/partition-table.bin
    cp "$IDF_PATH/tools/app.bin" build/app.bin
    cp "$IDF_PATH/tools/app.elf" build/app.elf
    cat main/*.c > build/main.o
    echo "built" ;;
  size) exit 1 ;;
  *) echo "stub idf.py: $cmd" ;;
esac
`;
  await writeFile(path.join(idf, 'tools', 'idf.py'), stub);
  await chmod(path.join(idf, 'tools', 'idf.py'), 0o755);
  const manifest = {
    v: PROTOCOL_VERSION,
    versions: [
      {
        version: '5.1.6',
        path: 'idf/v5.1.6',
        export_script: 'idf/export.sh',
        default: true,
        targets: ['esp32c3', 'esp32'],
        tools: [],
      },
    ],
  };
  await writeFile(path.join(root, 'manifest.json'), JSON.stringify(manifest, null, 2));
  return root;
}
