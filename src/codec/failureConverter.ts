// With the codec on, failure messages and stack traces move into an encoded attribute payload, which the codec
// then encrypts: a failure message names objects (namespace/name), and the history must show none of them in
// clear. Loaded by path (Temporal's dataConverter.failureConverterPath); pure, so it is also workflow-safe.
import { DefaultFailureConverter } from '@temporalio/common';

export const failureConverter = new DefaultFailureConverter({ encodeCommonAttributes: true });
