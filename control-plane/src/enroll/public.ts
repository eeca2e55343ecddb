/** What `vigil up` needs before the control plane starts: the NATS operator and the revocations (no storage code). */
export { NatsAuthority, NatsAuthorityError, hostPermissions } from './authority.js';
export { EnrollStore } from './store.js';
export type { EnrollOptions } from './service.js';
