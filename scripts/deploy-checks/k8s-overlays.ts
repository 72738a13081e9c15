/**
 * The Kubernetes overlays as the deploy-check tests read them: their names,
 * and each rendered by kustomize into its documents. kustomize comes from
 * scripts/deploy-checks/k8s.sh --install (into .cache/tools/bin, once).
 */
import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const OVERLAYS = join(ROOT, 'k8s/overlays');
const KUSTOMIZE = join(ROOT, '.cache/tools/bin/kustomize');

export const overlays = readdirSync(OVERLAYS, { withFileTypes: true })
  .filter((entry) => entry.isDirectory())
  .map((entry) => entry.name);

/** Installs kustomize when it is not there yet; for a test file's beforeAll. */
export function installKustomize(): void {
  execFileSync('bash', [join(ROOT, 'scripts/deploy-checks/k8s.sh'), '--install'], { stdio: 'inherit' });
}

/** The overlay as kustomize renders it: the text, and its documents (a YAML error throws). */
export function renderOverlay(overlay: string): { text: string; documents: unknown[] } {
  const text = execFileSync(KUSTOMIZE, ['build', join(OVERLAYS, overlay)], { encoding: 'utf8' });
  const documents = parseAllDocuments(text).map((doc) => {
    if (doc.errors.length > 0) throw doc.errors[0];
    return doc.toJS() as unknown;
  });
  return { text, documents };
}
