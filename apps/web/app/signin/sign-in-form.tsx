'use client';
import { useState, type FormEvent } from 'react';
import { errorOf } from '@/lib/api';

export function SignInForm() {
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function onSubmit(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const form = e.currentTarget;
    const input = form.elements.namedItem('apiKey') as HTMLInputElement;
    setBusy(true);
    setError(null);
    try {
      const res = await fetch('/api/session', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ apiKey: input.value }),
        credentials: 'same-origin',
      });
      // Clear the field either way, so the key does not linger in the DOM.
      input.value = '';
      if (!res.ok) {
        setError(errorOf(await res.json().catch(() => null)).message ?? `Sign-in failed (${res.status}).`);
        return;
      }
      window.location.assign('/builds');
    } catch {
      setError('The dashboard server cannot be reached.');
    } finally {
      setBusy(false);
    }
  }

  return (
    <form onSubmit={onSubmit} noValidate>
      <div className="field">
        <label htmlFor="apiKey">API key</label>
        <input
          id="apiKey"
          name="apiKey"
          type="password"
          autoComplete="off"
          spellCheck={false}
          placeholder="aegis_u_…"
          required
          aria-describedby={error ? 'signin-error' : undefined}
        />
      </div>
      {error && (
        <div id="signin-error" role="alert" className="alert error">
          {error}
        </div>
      )}
      <button className="primary" type="submit" disabled={busy}>
        {busy ? 'Checking…' : 'Sign in'}
      </button>
    </form>
  );
}
