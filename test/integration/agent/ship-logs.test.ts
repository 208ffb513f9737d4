/** ship-logs.suite.ts with json-file containers read from their files. */
import { shipLogsSuite } from './ship-logs.suite.js';

shipLogsSuite('files');
