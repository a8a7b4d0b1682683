// `ksm-flux dev`: the local demo (filled in by the operate issue).
export async function dev(_opts: { dir?: string; flux: boolean }): Promise<number> {
  process.stderr.write('ksm-flux dev: not implemented yet\n');
  return 1;
}
