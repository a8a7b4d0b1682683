// Structured JSON logs (pino). Lines about a ServiceSet carry `serviceSet` (namespace/name) and `workflowId`.
import pino from 'pino';

export type Logger = pino.Logger;

/** `destination` defaults to stdout; tests pass a stream to read what was logged. */
export function createLogger(
  level = process.env.LOG_LEVEL ?? 'info',
  name = 'ksm-flux',
  destination?: pino.DestinationStream,
): Logger {
  const options: pino.LoggerOptions = {
    name,
    level,
    base: { pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
    redact: { paths: ['*.token', '*.password', '*.data', '*.stringData'], censor: '[redacted]' },
  };
  return destination ? pino(options, destination) : pino(options);
}
