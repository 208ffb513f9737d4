/** ship-logs.suite.ts with every container read through the Engine API. */
import { shipLogsSuite } from './ship-logs.suite.js';

shipLogsSuite('api');
