import type { Metadata } from 'next';

export const metadata: Metadata = { title: 'Flash' };

export default function FlashPage() {
  return (
    <>
      <h1>Flash a board</h1>
      <p className="muted">Open a finished build and use its Flash panel.</p>
    </>
  );
}
