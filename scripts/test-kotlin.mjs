// The Kotlin SDK's tests (sdks/kotlin): `mvn -B -q clean verify` (clean: the models are generated from
// docs/openapi.json on every build, and a class compiled from an older source must not shadow one), run by
// scripts/test.mjs beside the node suites with the same environment, so its contract tests use the same PostgreSQL cluster (CONCIERGE_TEST_PG_URL) and STORES filter.
// Maven keeps what it downloads in the usual local repository (~/.m2), so a second run needs no network.
import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;

/** Whether a `node scripts/test.mjs <filter…>` run includes the Kotlin tests: a run of everything, or `… kotlin`. */
export function kotlinSelected(filter) {
  return filter.length === 0 || filter.some((x) => x.includes('kotlin'));
}

function missing(command, args) {
  const probe = spawnSync(command, args, { stdio: 'ignore' });
  return probe.error !== undefined || probe.status !== 0;
}

/** Runs the tests and resolves their exit code (0 when skipped outside CI). */
export async function runKotlinTests(env) {
  const absent = ['java', 'mvn'].filter((c) => missing(c, c === 'java' ? ['-version'] : ['-v']));
  if (absent.length > 0) {
    // CI must run every suite: a green run without the Kotlin SDK's tests would hide their failure.
    if (env.CI !== undefined) {
      console.error(`${absent.join(' and ')} not found in CI: the Kotlin SDK's tests need Java 11+ and Maven.`);
      return 1;
    }
    console.log(`# ${absent.join(' and ')} not found: the Kotlin SDK's tests (sdks/kotlin) are skipped.`);
    return 0;
  }
  console.log('# Kotlin SDK: mvn -B -q clean verify in sdks/kotlin');
  const child = spawn('mvn', ['-B', '-q', 'clean', 'verify'], {
    cwd: join(root, 'sdks/kotlin'),
    stdio: 'inherit',
    env,
  });
  const stop = (signal) => child.kill(signal);
  for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, stop);
  const code = await new Promise((resolve) => child.on('exit', (c, signal) => resolve(c ?? (signal ? 1 : 0))));
  for (const signal of ['SIGINT', 'SIGTERM']) process.off(signal, stop);
  return code;
}
