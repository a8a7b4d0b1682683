// `ksm-flux doctor` (filled in by the operate issue).
import type { Config } from '../config';

export async function doctor(_cfg: Config, _opts: { smp?: string }): Promise<boolean> {
  process.stderr.write('ksm-flux doctor: not implemented yet\n');
  return false;
}
