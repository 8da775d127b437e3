/**
 * Temporary directories of a test file, removed when the file's tests are done. Import this module
 * from the test file (directly or through a helper): its afterAll hook is registered on the importing
 * file's suite (vitest gives every test file its own module instances).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';

const made: string[] = [];

afterAll(() => {
  for (const d of made.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** A fresh directory under the system temp dir (`prefix` + 6 random characters), removed after the file's tests. */
export function tempDir(prefix: string): string {
  const d = mkdtempSync(join(tmpdir(), prefix));
  made.push(d);
  return d;
}
