// Structured JSON logs (pino). Lines about a ServiceSet carry `serviceSet` (namespace/name) and `workflowId`.
import pino from 'pino';

export type Logger = pino.Logger;

export function createLogger(level = process.env.LOG_LEVEL ?? 'info', name = 'ksm-flux'): Logger {
  return pino({
    name,
    level,
    base: { pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
    redact: { paths: ['*.token', '*.password', '*.data', '*.stringData'], censor: '[redacted]' },
  });
}

export const rootLogger = createLogger();
