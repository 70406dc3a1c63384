/**
 * What `node --cpu-prof` does, for processes started through NODE_OPTIONS (which refuses
 * --cpu-prof): `NODE_OPTIONS="--import ./scripts/bench/cpu-profile.mjs"` with TANDEM_CPU_PROF_DIR set
 * profiles the process from start to a clean exit and writes CPU.<pid>.cpuprofile there (Chrome
 * DevTools' format, plus `wallOffsetUs`: add it to a sample's time to get Date.now()'s µs). Used by the barrier benchmark; nothing else loads it.
 */
import { Session } from 'node:inspector';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

const dir = process.env.TANDEM_CPU_PROF_DIR;
if (dir) {
  const session = new Session();
  session.connect();
  session.post('Profiler.enable');
  session.post('Profiler.setSamplingInterval', { interval: 500 });
  session.post('Profiler.start');
  // The in-thread session answers synchronously, so the profile is written before the process ends.
  process.on('exit', () => {
    session.post('Profiler.stop', (err, res) => {
      // The profile's times are the monotonic clock's (µs); the offset maps them to Date.now()'s.
      const wallOffsetUs = Date.now() * 1000 - Number(process.hrtime.bigint() / 1000n);
      if (!err) writeFileSync(join(dir, `CPU.${process.pid}.cpuprofile`), JSON.stringify({ ...res.profile, wallOffsetUs }));
    });
  });
}
