// The verbs suite (test/softroce/), run for real inside the soft-RoCE guest:
//   bash scripts/softroce/run-suite.sh      (from the host: builds, boots, runs this)
//   npm run test:softroce                   (inside the guest, or anywhere: it skips without a device)
// The guest mounts the repository read-only, so nothing may be written under
// it: Vite's and Vitest's caches go to /tmp (a tmpfs in the guest).
import { defineConfig } from 'vitest/config';

export default defineConfig({
  cacheDir: '/tmp/dmem-vitest-softroce-cache',
  test: {
    include: ['test/softroce/**/*.test.ts'],
    // One device, one guest with 2 vCPUs: one file at a time.
    fileParallelism: false,
    // Soft-RoCE under software emulation is slow; nothing here asserts on time.
    testTimeout: 120_000,
    hookTimeout: 120_000,
    reporters: ['default'],
  },
});
