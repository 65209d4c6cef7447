import { twoWay } from './twoWay.ts';

twoWay(3);
