// The smallest entity workflow: started by signal-with-start like a ServiceSet's, it counts signals and ends
// after the expected number, so the ceiling bench measures Temporal, not our workflow code.
import { condition, defineSignal, setHandler } from '@temporalio/workflow';

export const poke = defineSignal('poke');

export async function ceilingEntity(expectedSignals: number): Promise<number> {
  let seen = 0;
  setHandler(poke, () => {
    seen++;
  });
  await condition(() => seen >= expectedSignals);
  return seen;
}
