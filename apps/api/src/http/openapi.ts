import type { INestApplication } from '@nestjs/common';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { z } from 'zod';
import * as P from '@aegis/protocol';

/** Wire schemas published as OpenAPI components (generated from the same zod schemas the API parses with). */
const COMPONENTS: Record<string, z.ZodType> = {
  ErrorBody: P.ErrorBody,
  GrantRequest: P.GrantRequest,
  GrantResponse: P.GrantResponse,
  GrantClaims: P.GrantClaims,
  OfferBody: P.OfferBody,
  AnswerBody: P.AnswerBody,
  CandidateBody: P.CandidateBody,
  SignalingEvent: P.SignalingEvent,
  MachineHeartbeat: P.MachineHeartbeat,
  HeartbeatResponse: P.HeartbeatResponse,
  AgentPollResponse: P.AgentPollResponse,
  ClaimResponse: P.ClaimResponse,
  AgentStateReport: P.AgentStateReport,
  AgentCandidatesResponse: P.AgentCandidatesResponse,
  JobView: P.JobView,
  JobListResponse: P.JobListResponse,
  MeResponse: P.MeResponse,
  CreateUserBody: P.CreateUserBody,
  CreateUserResponse: P.CreateUserResponse,
  UserListResponse: P.UserListResponse,
  CreateKeyBody: P.CreateKeyBody,
  CreateKeyResponse: P.CreateKeyResponse,
  KeyListResponse: P.KeyListResponse,
  MachineListResponse: P.MachineListResponse,
  MachineKeyListResponse: P.MachineKeyListResponse,
  CreateMachineBody: P.CreateMachineBody,
  CreateMachineResponse: P.CreateMachineResponse,
  CreateWebhookBody: P.CreateWebhookBody,
  CreateWebhookResponse: P.CreateWebhookResponse,
  WebhookListResponse: P.WebhookListResponse,
  WebhookDeliveryListResponse: P.WebhookDeliveryListResponse,
  WebhookPayload: P.WebhookPayload,
  HealthResponse: P.HealthResponse,
};

export function mountOpenApi(app: INestApplication): void {
  const config = new DocumentBuilder()
    .setTitle('Aegis control API')
    .setDescription(
      'Grants, signaling, scheduling and REST for Aegis. Bodies and responses are the zod schemas of libs/protocol, ' +
        'listed under components.schemas. Errors are ErrorBody {code, message}.',
    )
    .setVersion('1')
    .addBearerAuth({ type: 'http', scheme: 'bearer', description: 'aegis_u_… (users) or aegis_m_… (machines)' })
    .build();
  const doc = SwaggerModule.createDocument(app, config);
  const schemas: Record<string, unknown> = {};
  for (const [name, schema] of Object.entries(COMPONENTS)) {
    try {
      schemas[name] = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' });
    } catch {
      schemas[name] = { type: 'object', description: `see libs/protocol (${name})` };
    }
  }
  doc.components = { ...(doc.components ?? {}), schemas: { ...(doc.components?.schemas ?? {}), ...schemas } as never };
  doc.security = [{ bearer: [] }];
  SwaggerModule.setup('api/docs', app, doc, { jsonDocumentUrl: 'api/docs-json' });
}
