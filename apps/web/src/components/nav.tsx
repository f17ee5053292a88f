'use client';
import Link from 'next/link';
import { usePathname } from 'next/navigation';

const LINKS = [
  { href: '/projects', label: 'Projects' },
  { href: '/builds/new', label: 'New build' },
  { href: '/builds', label: 'Builds' },
  { href: '/machines', label: 'Machines' },
  { href: '/flash', label: 'Flash' },
];

export function Nav() {
  const path = usePathname();
  const current = LINKS.filter((l) => path === l.href || path.startsWith(l.href + '/')).sort(
    (a, b) => b.href.length - a.href.length,
  )[0]?.href;
  return (
    <nav className="nav" aria-label="Main">
      {LINKS.map((l) => (
        <Link key={l.href} href={l.href} aria-current={current === l.href ? 'page' : undefined}>
          {l.label}
        </Link>
      ))}
    </nav>
  );
}
