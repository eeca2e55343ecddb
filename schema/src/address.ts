/** Listen addresses as Vigil's parts use them: which stay on this host, and how a URL names one. */

/** Addresses on this host only: 127.0.0.0/8, ::1 and the name localhost. */
export const isLoopbackAddress = (addr: string): boolean =>
  addr === 'localhost' || addr === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(addr);

/**
 * A listen address as the host part of a URL this host's parts connect to: IPv6 in brackets, and a
 * wildcard (every address) as loopback, which every certificate `vigil certs` makes names.
 */
export function urlHost(addr: string): string {
  if (addr === '0.0.0.0' || addr === '') return '127.0.0.1';
  if (addr === '::') return '[::1]';
  return addr.includes(':') ? `[${addr}]` : addr;
}
