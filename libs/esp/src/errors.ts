/** Stable codes for everything that can be wrong with an ESP file or argument. */
export type EspFormatErrorCode =
  | 'bad_magic'
  | 'truncated'
  | 'bad_header'
  | 'too_many_segments'
  | 'bad_segment'
  | 'bad_argument'
  | 'unknown_chip'
  | 'bad_elf'
  | 'unsupported_elf'
  | 'segment_layout'
  | 'bad_csv'
  | 'bad_partition'
  | 'partition_overlap'
  | 'bad_md5'
  | 'bad_flasher_args'
  | 'missing_file'
  | 'bad_path'
  | 'overlapping_parts'
  | 'part_beyond_flash'
  | 'unaligned_part'
  | 'bad_signature'
  | 'manifest_mismatch'
  | 'bad_manifest'
  | 'size_mismatch'
  | 'sha256_mismatch'
  | 'bad_size_report'
  | 'bad_project_description'
  | 'bad_image';

/** Thrown by every parser/writer in libs/esp: a code to branch on and one sentence a person can act on. */
export class EspFormatError extends Error {
  readonly code: EspFormatErrorCode;
  constructor(code: EspFormatErrorCode, message: string) {
    super(message);
    this.name = 'EspFormatError';
    this.code = code;
  }
}

export function hex(n: number, width = 0): string {
  return '0x' + n.toString(16).padStart(width, '0');
}
