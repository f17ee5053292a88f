/**
 * The static libraries a GNU ld map file (build/<project>.map, `-Map`) shows as linked: those named in
 * "Archive member included to satisfy reference by file" and in "Linker script and memory map" (input sections
 * placed in the image). "Discarded input sections" is skipped: a library seen only there gave the image nothing.
 * Paths are as ld wrote them, relative to the build directory for ESP-IDF's own (`esp-idf/main/libmain.a`).
 */
export function linkedArchives(map: string): string[] {
  const found = new Set<string>();
  let skipping = false;
  for (const line of map.split(/\r?\n/)) {
    if (/^Discarded input sections\s*$/.test(line)) skipping = true;
    else if (/^(Memory Configuration|Linker script and memory map|Archive member included)/.test(line))
      skipping = false;
    if (skipping) continue;
    for (const m of line.matchAll(/(?:^|\s)(\S+?\.a)\([^)\s]+\)/g)) found.add(m[1]);
  }
  return [...found].sort();
}
