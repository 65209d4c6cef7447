export { type IsolateOptions, type Isolation, isolate } from './isolation.ts';
export { useIsolation } from './useIsolation.ts';
export { gate, Recorder, waitFor } from './waitFor.ts';
