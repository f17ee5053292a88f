import {
  GrantResponse,
  SignalingEvent,
  describeZodError,
  type CandidateBody,
  type GrantRequest,
  type SignalingEventType,
} from '@aegis/protocol';
import { api, apiSend, API_PREFIX } from '../api';

export function requestGrant(req: GrantRequest): Promise<GrantResponse> {
  return api('grant/request', GrantResponse, { method: 'POST', json: req });
}

export function postOffer(jobId: string, sdp: string): Promise<void> {
  return apiSend(`signaling/${encodeURIComponent(jobId)}/offer`, { method: 'POST', json: { type: 'offer', sdp } });
}

export function postCandidate(jobId: string, c: CandidateBody): Promise<void> {
  return apiSend(`signaling/${encodeURIComponent(jobId)}/candidate`, { method: 'POST', json: c });
}

const TYPES: SignalingEventType[] = ['assigned', 'answer', 'candidate', 'state', 'error'];

/**
 * Subscribes to the job's signaling events (SSE through the proxy; the cookie authenticates). Every event is parsed
 * with libs/protocol's SignalingEvent; one that does not match ends the subscription with a message naming the
 * field (`onBroken`), rather than being dropped or half-read.
 */
export function openSignaling(
  jobId: string,
  onEvent: (e: SignalingEvent) => void,
  onBroken: (message: string) => void,
): () => void {
  const es = new EventSource(`${API_PREFIX}/signaling/${encodeURIComponent(jobId)}/events`);
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
    if (parsed.success) onEvent(parsed.data);
    else {
      es.close();
      onBroken(
        `The API sent a signaling event (${ev.type}) this dashboard does not understand: ${describeZodError(parsed.error)}.`,
      );
    }
  };
  for (const t of TYPES) es.addEventListener(t, handle as EventListener);
  es.onmessage = handle;
  es.onerror = () => {
    if (es.readyState === EventSource.CLOSED) onBroken('The signaling stream closed; the API may have restarted.');
  };
  return () => es.close();
}
