import { Injectable, type PipeTransform } from '@nestjs/common';
import { parseAt, Uuid } from '@aegis/protocol';
import type { z } from 'zod';
import { AppError } from '../errors.js';

/** Parses a body/query with its protocol schema; a bad one becomes 400 invalid_input naming the field. */
@Injectable()
export class ZodPipe<S extends z.ZodType> implements PipeTransform<unknown, z.infer<S>> {
  constructor(
    private readonly schema: S,
    private readonly what = 'request body',
  ) {}
  transform(value: unknown): z.infer<S> {
    const r = parseAt(this.schema, value ?? {}, this.what);
    if (!r.ok) throw new AppError(400, r.error.code, r.error.message);
    return r.value;
  }
}

export const body = <S extends z.ZodType>(schema: S) => new ZodPipe(schema, 'request body');
export const query = <S extends z.ZodType>(schema: S) => new ZodPipe(schema, 'query');

/** `:id` route parameters are UUIDs. */
export const uuidParam = new ZodPipe(Uuid, 'id');
