// The command line, parsed strictly with node:util parseArgs: every flag must be known to the command it is
// given to (an unknown one is an error naming it and the nearest known flag), a string flag needs its value,
// a boolean takes none. Flags may come before or after the positionals; validation of values is zod's job.
import { parseArgs as parseArgv } from 'node:util';

/** The flags a command accepts, by name (without the leading dashes). */
export type FlagSpec = Readonly<Record<string, 'string' | 'boolean'>>;

export interface ParsedArgs {
  positionals: string[];
  flags: Record<string, string | boolean>;
}

export class ArgsError extends Error {}

/** Edit distance (insertions, deletions, substitutions). */
export function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++)
      row[j] = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = row;
  }
  return prev[b.length]!;
}

/** The known name closest to `name` (the first of equals, in the order given). */
export function nearest(name: string, known: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const k of known) {
    const d = editDistance(name, k);
    if (d < bestDistance) [best, bestDistance] = [k, d];
  }
  return best;
}

const HELP: FlagSpec = { help: 'boolean' };

/**
 * Parses `argv` against `spec` (plus --help / -h). `bareTrue` names string flags that may also stand alone,
 * meaning "true" (boolean settings that are validated as strings, so `--leader-elect=false` works too).
 */
export function parseArgs(argv: string[], spec: FlagSpec, bareTrue: ReadonlySet<string> = new Set()): ParsedArgs {
  const known = { ...spec, ...HELP };
  const options = Object.fromEntries(
    Object.entries(known).map(([name, type]) => [name, name === 'help' ? { type, short: 'h' } : { type }]),
  );
  // Unknown flags first, by name: strict parsing would stop at the first with a message naming no alternative.
  const { tokens } = parseArgv({ args: argv, options, strict: false, allowPositionals: true, tokens: true });
  for (const t of tokens)
    if (t.kind === 'option' && !(t.name in known)) {
      const near = nearest(t.name, Object.keys(known));
      throw new ArgsError(`unknown flag ${t.rawName}${near ? ` (did you mean --${near}?)` : ''}`);
    }
  const end = argv.indexOf('--');
  const normalized = argv.map((a, i) =>
    (end < 0 || i < end) && bareTrue.has(a.slice(2)) && a.startsWith('--') ? `${a}=true` : a,
  );
  try {
    const { values, positionals } = parseArgv({ args: normalized, options, strict: true, allowPositionals: true });
    const flags: Record<string, string | boolean> = {};
    for (const [k, v] of Object.entries(values)) if (typeof v === 'string' || typeof v === 'boolean') flags[k] = v;
    return { positionals, flags };
  } catch (e) {
    const code = (e as { code?: string }).code ?? '';
    if (!code.startsWith('ERR_PARSE_ARGS')) throw e;
    throw new ArgsError((e as Error).message.split('\n')[0]!.replace(/\.$/, ''));
  }
}
