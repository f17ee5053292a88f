import {
  GrantResponse,
  SignalingEvent,
  type CandidateBody,
  type GrantRequest,
  type SignalingEventType,
} from '@aegis/protocol';
import { api, ApiError, API_PREFIX } from '../api';

export async function requestGrant(req: GrantRequest): Promise<GrantResponse> {
  const body = await api<unknown>('grant/request', { method: 'POST', json: req });
  const parsed = GrantResponse.safeParse(body);
  if (!parsed.success)
    throw new ApiError(502, 'bad_grant_response', 'The API sent a grant response this dashboard does not understand.');
  return parsed.data;
}

export function postOffer(jobId: string, sdp: string) {
  return api<unknown>(`signaling/${jobId}/offer`, { method: 'POST', json: { type: 'offer', sdp } });
}

export function postCandidate(jobId: string, c: CandidateBody) {
  return api<unknown>(`signaling/${jobId}/candidate`, { method: 'POST', json: c });
}

const TYPES: SignalingEventType[] = ['assigned', 'answer', 'candidate', 'state', 'error'];

/** Subscribes to the job's signaling events (SSE through the proxy; the cookie authenticates). */
export function openSignaling(
  jobId: string,
  onEvent: (e: SignalingEvent & Record<string, unknown>) => void,
  onBroken: (message: string) => void,
): () => void {
  const es = new EventSource(`${API_PREFIX}/signaling/${jobId}/events`);
  const handle = (ev: MessageEvent) => {
    let data: unknown;
    try {
      data = JSON.parse(ev.data as string);
    } catch {
      return;
    }
    const obj =
      data && typeof data === 'object' ? { type: ev.type === 'message' ? undefined : ev.type, ...data } : data;
    const parsed = SignalingEvent.safeParse(obj);
    if (parsed.success) onEvent({ ...(obj as Record<string, unknown>), ...parsed.data });
  };
  for (const t of TYPES) es.addEventListener(t, handle as EventListener);
  es.onmessage = handle;
  es.onerror = () => {
    if (es.readyState === EventSource.CLOSED) onBroken('The signaling stream closed; the API may have restarted.');
  };
  return () => es.close();
}
