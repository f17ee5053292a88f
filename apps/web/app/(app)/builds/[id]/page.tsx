import type { Metadata } from 'next';
import { BuildDetail } from './build-detail';

export const metadata: Metadata = { title: 'Build' };

export default async function BuildPage({ params }: { params: Promise<{ id: string }> }) {
  const { id } = await params;
  return <BuildDetail jobId={id} />;
}
