import { z } from 'zod';

const Bytes = z.number().int().nonnegative();

/** One memory type (DRAM, IRAM, D/IRAM, Flash Code, …) with its sections' sizes. */
export const SizeRegion = z.object({
  name: z.string().min(1),
  used: Bytes,
  total: Bytes.optional(),
  parts: z.record(z.string(), Bytes).optional(),
});
export type SizeRegion = z.infer<typeof SizeRegion>;

/** What one archive (component library) contributes. */
export const SizeComponent = z.object({
  name: z.string().min(1),
  flash: Bytes,
  ram: Bytes,
});
export type SizeComponent = z.infer<typeof SizeComponent>;

const Usage = z.object({ used: Bytes, total: Bytes.optional() });

/**
 * `idf.py size` output normalised across esp-idf-size's legacy JSON/text and its newer `json2` format.
 * flash.used counts flash-resident code and read-only data; image_size (when known) is the whole app image.
 */
export const SizeReport = z.object({
  source: z.enum(['legacy-json', 'json2', 'legacy-text']),
  flash: Usage,
  ram: Usage,
  image_size: Bytes.optional(),
  regions: z.array(SizeRegion),
  components: z.array(SizeComponent).optional(),
  /** Present for a diff report (`--diff`): the reference build's totals. */
  reference: z.object({ flash: Usage, ram: Usage, image_size: Bytes.optional() }).optional(),
});
export type SizeReport = z.infer<typeof SizeReport>;
