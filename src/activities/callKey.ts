import { Context } from '@temporalio/activity';

/** A key that is the same for every retry of one activity call (for idempotent Events). */
export function activityCallKey(): string {
  try {
    const i = Context.current().info;
    return `${i.workflowExecution?.runId ?? i.activityId}-${i.activityId}`;
  } catch {
    return String(Date.now());
  }
}
