// Sends a fixed set of StatsD/DogStatsD metrics with hot-shots to 127.0.0.1:<port>, then exits.
// Usage: node send.js PORT
'use strict';
const StatsD = require('hot-shots');

const port = Number(process.argv[2]);
const client = new StatsD({
  host: '127.0.0.1',
  port,
  protocol: 'udp',
  globalTags: { env: 'test' },
  maxBufferSize: 0, // one datagram per metric
  errorHandler: (e) => { console.error('hot-shots error:', e); process.exitCode = 1; },
});

for (let i = 0; i < 10; i++) client.increment('hs.requests', 1, { route: 'login' });
client.increment('hs.requests', 5, { route: 'home' });
client.gauge('hs.queue_depth', 42);
client.gauge('hs.queue_depth', 17);
for (const t of [10, 20, 30, 40]) client.timing('hs.latency', t, ['route:login']);
client.histogram('hs.size', 512);
client.distribution('hs.dist', 7);
client.set('hs.users', 'alice');
client.set('hs.users', 'bob');
client.set('hs.users', 'alice');
// Sampled counter: hot-shots sends when Math.random() <= rate; pin it so all 4 calls go out
// with |@0.25 and the agent must count each as 4.
Math.random = () => 0;
for (let i = 0; i < 4; i++) client.increment('hs.sampled', 1, 0.25, { kind: 'rate' });
// Timings with a sample rate weigh 1/rate each.
client.timing('hs.sampled_latency', 100, 0.5);
client.close((err) => { if (err) { console.error(err); process.exitCode = 1; } });
