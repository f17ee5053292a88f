'use client';
import { useState } from 'react';

export function SignOutButton() {
  const [busy, setBusy] = useState(false);
  return (
    <button
      type="button"
      disabled={busy}
      onClick={async () => {
        setBusy(true);
        await fetch('/api/session', { method: 'DELETE', credentials: 'same-origin' }).catch(() => null);
        window.location.assign('/signin');
      }}
    >
      Sign out
    </button>
  );
}
