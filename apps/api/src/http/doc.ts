import { applyDecorators } from '@nestjs/common';
import { ApiBody, ApiResponse } from '@nestjs/swagger';

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });

/**
 * OpenAPI for a route, pointing at the zod-generated components (see openapi.ts), so the document shows the
 * same shapes the handlers parse with.
 */
export function Doc(o: {
  body?: string;
  res?: string;
  status?: number;
  summary?: string;
  /** Other ErrorBody answers of this route: status → codes and when. */
  errors?: Record<number, string>;
}) {
  const d: MethodDecorator[] = [
    ApiResponse({ status: o.status ?? 200, description: o.summary ?? '', ...(o.res ? { schema: ref(o.res) } : {}) }),
    ApiResponse({ status: 400, description: 'invalid_input', schema: ref('ErrorBody') }),
    ApiResponse({ status: 401, description: 'unauthenticated', schema: ref('ErrorBody') }),
    ...Object.entries(o.errors ?? {}).map(([status, description]) =>
      ApiResponse({ status: Number(status), description, schema: ref('ErrorBody') }),
    ),
  ];
  if (o.body) d.push(ApiBody({ schema: ref(o.body) }));
  return applyDecorators(...d);
}
