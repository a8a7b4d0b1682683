// The version of ksm-flux: package.json's, the one source. The CLI reads it at start (the image carries
// package.json beside dist/); the copies that cannot read a file (the Dockerfile's label, the chart's appVersion)
// are checked against it by test/unit/version.test.ts.
import fs from 'node:fs';
import path from 'node:path';

/** package.json of this package, found from here upwards (src/ when run with tsx, dist/src/ when compiled). */
export function packageJsonPath(from = __dirname): string {
  for (let dir = from; ; dir = path.dirname(dir)) {
    const p = path.join(dir, 'package.json');
    if (fs.existsSync(p) && (JSON.parse(fs.readFileSync(p, 'utf8')) as { name?: string }).name === 'ksm-flux') return p;
    if (path.dirname(dir) === dir) throw new Error(`package.json of ksm-flux not found above ${from}`);
  }
}

export const VERSION: string = (JSON.parse(fs.readFileSync(packageJsonPath(), 'utf8')) as { version: string }).version;
