'use client';
import Link from 'next/link';
import { useState } from 'react';
import { ErrorBox } from '@/components/error-box';
import { useProjectOfJob, useStartProjectBuild } from '@/lib/projects/use-projects';

/**
 * On a build's page, when the build came from a project of this browser: the project's name linked back to it, and
 * Rebuild (the project's current files, same options).
 */
export function BuildProjectBar({ jobId }: { jobId: string }) {
  const startBuild = useStartProjectBuild();
  const of = useProjectOfJob(jobId);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  if (!of.data) return null;
  const { build, project } = of.data;

  async function rebuild() {
    setBusy(true);
    setError(null);
    const why = await startBuild(project!, {});
    if (why !== null) {
      setError(why);
      setBusy(false);
    }
  }

  return (
    <div className="row small" data-testid="build-project" style={{ alignItems: 'center', marginBottom: '0.75rem' }}>
      {project ? (
        <>
          <span>
            Project <Link href={`/projects/${project.id}`}>{project.name}</Link>
          </span>
          <button type="button" onClick={() => void rebuild()} disabled={busy}>
            {busy ? 'Starting…' : 'Rebuild from the project'}
          </button>
        </>
      ) : (
        <span className="muted">Project {build.projectName} (deleted from this browser)</span>
      )}
      <ErrorBox error={error} title="The rebuild could not start" />
    </div>
  );
}
