// Seeds the events table with synthetic rows generated inside the engine, and the alerts table with
// one alert per 100 events (run from control-plane/ so its dependencies resolve).
// Usage: node bench/seed.mjs DATA_DIR ROWS
import { createClient } from '@clickhouse/client';
import { createChdbConnection } from 'chdb/connection';
import { migrate } from '../control-plane/dist/store/migrations.js';

const [dir, rowsText] = process.argv.slice(2);
const rows = Number(rowsText);
const ch = createClient({ connection: createChdbConnection({ path: dir }) });
await migrate(ch);
const comms = "['python3','bash','curl','nvidia-smi','sshd','sh','git','pip','torchrun','node']";
const kinds = "['exec','exit','connect','gpu']";
const CHUNK = 1_000_000;
for (let off = 0; off < rows; off += CHUNK) {
  const n = Math.min(CHUNK, rows - off);
  await ch.command({
    query: `INSERT INTO events (id, host, ts, kind, pid, ppid, uid, comm, exe, argv, container_id, job, daddr, dport, gpu_device, gpu_ioctl, gpu_class, event_count, event)
      SELECT id, host, ts, kind, pid, 1, 1000, comm, concat('/usr/bin/', comm), [comm, 'arg'], '', '', '', 0, '', '', 0, 1,
        concat('{"id":"', id, '","v":1,"host":"', host, '","ts":"', toString(toUnixTimestamp64Nano(ts)), '","kind":"exit","proc":{"pid":', toString(pid), ',"ppid":1,"uid":1000,"gid":1000,"comm":"', comm, '","exe":"/usr/bin/', comm, '","argv":["', comm, '"],"argvTruncated":false,"cgroupId":0,"cgroup":"/","containerId":null,"job":null,"startTs":null,"ancestry":[],"ancestryTruncated":false},"exit":{"code":0,"signal":null}}')
      FROM (
        SELECT toString(generateUUIDv4(number)) AS id,
               concat('node-', toString(number % 64)) AS host,
               now64(9) - toIntervalMillisecond(number % 172800000) AS ts,
               ${kinds}[number % 4 + 1] AS kind,
               toUInt32(number % 400000) AS pid,
               ${comms}[(intHash32(number) % 10) + 1] AS comm
        FROM numbers(${off}, ${n}))`,
  });
  process.stderr.write(`seeded ${off + n}\n`);
}
// Alerts: what the detections would have raised over the same two days, rules and severities mixed.
const rules =
  "['miner.exec','tunnel.ssh-reverse','gpu.unexpected-process','shell.reverse','sensor.tamper','sigma.0f7a8d7c-0000-4000-8000-000000000001']";
const severities = "['low','medium','high','critical']";
await ch.command({
  query: `INSERT INTO alerts (id, host, ts, last_ts, rule_id, severity, severity_n, source, title, reason, pid, comm, exe, count, alert)
    SELECT id, host, ts, ts, rule, sev, sev_n, 'builtin', rule, reason, pid, 'python3', '/usr/bin/python3', 1,
      concat('{"id":"', id, '","v":1,"ruleId":"', rule, '","title":"', rule, '","severity":"', sev, '","mitre":["T1496"],"source":"builtin","author":null,"ts":"', toString(toUnixTimestamp64Nano(ts)), '","lastTs":"', toString(toUnixTimestamp64Nano(ts)), '","host":"', host, '","proc":null,"evidence":[],"reason":"', reason, '","count":1}')
    FROM (
      SELECT toString(generateUUIDv4(number)) AS id,
             concat('node-', toString(number % 64)) AS host,
             now64(9) - toIntervalMillisecond(intHash32(number) % 172800000) AS ts,
             ${rules}[intHash32(number + 3) % 6 + 1] AS rule,
             toUInt8(intHash32(number + 7) % 4 + 1) AS sev_n,
             ${severities}[sev_n] AS sev,
             concat('seeded alert ', toString(number)) AS reason,
             toUInt32(number % 400000) AS pid
      FROM numbers(${Math.max(1, Math.floor(rows / 100))}))`,
});
process.stderr.write(`seeded ${Math.max(1, Math.floor(rows / 100))} alerts\n`);
await ch.close();
