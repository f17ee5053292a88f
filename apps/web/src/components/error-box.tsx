import { ApiError } from '@/lib/api';

export function ErrorBox({ error, title }: { error: unknown; title?: string }) {
  if (!error) return null;
  const message =
    error instanceof Error
      ? error.message
      : typeof (error as { message?: unknown }).message === 'string'
        ? (error as { message: string }).message
        : String(error);
  const code = error instanceof ApiError ? error.code : (error as { code?: string })?.code;
  return (
    <div role="alert" className="alert error">
      {title && <strong>{title}</strong>}
      {message}
      {code && <span className="muted small mono"> ({code})</span>}
    </div>
  );
}
