/**
 * What a custom detection module imports:
 *   import { defineDetection } from '@vigil/control-plane/detect';
 */
export { defineDetection, type Detection, type DetectionContext, type Finding, type EventOf } from './define.js';
export { basename, commandLine, argvOf, exeOf, namesOf, inWritablePlace } from './argv.js';
export type { EventV1, AlertV1, ProcessV1, AncestorV1 } from '@vigil/schema';
