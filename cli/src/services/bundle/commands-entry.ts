/**
 * The commands a sensor bundle carries (oclif's "explicit" command strategy, which a bundler can
 * follow, unlike the commands folder it scans in a checkout): the sensor and its version.
 */
import Sensor from '../../commands/sensor/index.js';
import Version from '../../commands/version/index.js';

export const COMMANDS = { sensor: Sensor, version: Version };
