import { redirect } from 'next/navigation';
import { readSession } from '@/server/session';

export const dynamic = 'force-dynamic';

export default async function Home() {
  redirect((await readSession()) ? '/builds' : '/signin');
}
