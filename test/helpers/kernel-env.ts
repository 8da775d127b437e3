/**
 * Whether real-kernel tests can run here: Linux, root, and a kernel with MPTCP enabled.
 * Returns the reason to skip (shown in the suite name), or null when they can run.
 */
import { existsSync, readFileSync } from 'node:fs';

const ENABLED = '/proc/sys/net/mptcp/enabled';

export function kernelSkipReason(): string | null {
  if (process.platform !== 'linux') return 'not Linux';
  if (process.getuid?.() !== 0) return 'not root';
  if (!existsSync(ENABLED)) return 'kernel without MPTCP (/proc/sys/net/mptcp missing)';
  if (readFileSync(ENABLED, 'utf8').trim() !== '1') return 'net.mptcp.enabled is not 1';
  return null;
}
