// Files read from Go module zips (CRDs, RBAC roles) come from the modules pinned in tools/sources (go.mod + go.sum,
// written by scripts/pin-tools.sh): `go mod download PATH` there fetches exactly the pinned zip and checks it
// against go.sum, so nothing is resolved at run time.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';

const sourcesDir = path.resolve(__dirname, '..', '..', 'tools', 'sources');

/** The version tools/sources/go.mod pins for a module, or undefined. */
export function pinnedSourceVersion(modulePath: string): string | undefined {
  const gomod = fs.readFileSync(path.join(sourcesDir, 'go.mod'), 'utf8');
  for (const line of gomod.split('\n')) {
    const f = line
      .trim()
      .replace(/^require\s+/, '')
      .split(/\s+/);
    if (f[0] === modulePath && f[1]?.startsWith('v')) return f[1];
  }
  return undefined;
}

/** The directory of a pinned module's zip, downloaded (and verified) on first use. */
export async function pinnedSourceDir(modulePath: string): Promise<string> {
  if (!pinnedSourceVersion(modulePath))
    throw new Error(`${modulePath} is not pinned in tools/sources/go.mod (add it in scripts/pin-tools.sh)`);
  const { stdout } = await promisify(execFile)('go', ['mod', 'download', '-json', modulePath], {
    cwd: sourcesDir,
    env: {
      ...process.env,
      GOFLAGS: '-mod=readonly',
      GOWORK: 'off',
      GOTOOLCHAIN: 'local',
      PATH: `${process.env.PATH}:/usr/local/go/bin`,
    },
  }).catch((e: { stdout?: string; message: string }) => {
    const err = /"Error": "([^"]*)"/.exec(e.stdout ?? '')?.[1];
    throw new Error(`go mod download ${modulePath} (tools/sources): ${err ?? e.message}`);
  });
  return (JSON.parse(stdout) as { Dir: string }).Dir;
}
