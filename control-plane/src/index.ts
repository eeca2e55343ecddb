export { startControlPlane, CONTROL_PLANE_VERSION, type ControlPlaneConfig, type RunningControlPlane } from './control-plane.js';
export type { StorageTarget } from './store/client.js';
