import { proveStrategies } from './strategiesProof.ts';

proveStrategies(1);
