/**
 * Whether real-kernel tests can run here: Linux, root, and a kernel with MPTCP enabled.
 * Returns the reason to skip (shown in the suite name), or null when they can run.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';

const ENABLED = '/proc/sys/net/mptcp/enabled';

export function kernelSkipReason(): string | null {
  if (process.platform !== 'linux') return 'not Linux';
  if (process.getuid?.() !== 0) return 'not root';
  if (!existsSync(ENABLED)) return 'kernel without MPTCP (/proc/sys/net/mptcp missing)';
  if (readFileSync(ENABLED, 'utf8').trim() !== '1') return 'net.mptcp.enabled is not 1';
  return null;
}

/** {@link kernelSkipReason}, and also iproute2 (`ip`) and python3, which the namespace tests drive. */
export function namespaceSkipReason(): string | null {
  const kernel = kernelSkipReason();
  if (kernel !== null) return kernel;
  if (spawnSync('ip', ['-V']).status !== 0) return 'iproute2 missing';
  if (spawnSync('python3', ['--version']).status !== 0) return 'python3 missing';
  return null;
}

/** Kill every process in these network namespaces and delete them (those that exist); for test set-up and teardown. */
export function deleteNamespaces(...names: string[]): void {
  for (const ns of names) {
    if (!existsSync(`/run/netns/${ns}`)) continue;
    for (const p of spawnSync('ip', ['netns', 'pids', ns], { encoding: 'utf8' }).stdout.split('\n').filter((x) => x !== '')) {
      try {
        process.kill(Number(p), 'SIGKILL');
      } catch {
        /* gone */
      }
    }
    spawnSync('ip', ['netns', 'del', ns]);
  }
}
