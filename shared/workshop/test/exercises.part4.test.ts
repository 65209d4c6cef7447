import { twoWay } from './twoWay.ts';

twoWay(4);
