// Seeds the events table with synthetic rows generated inside the engine, in the shape of a fleet's
// events (64 hosts, a week of times spread at random, exec/exit/connect/gpu with their own payloads,
// processes with parents and the exes their names go with), and the alerts table with one alert per
// 100 events. Run as its own process (from control-plane/, so its dependencies resolve): chDB holds
// the store's folder until the process ends. Usage: node bench/seed.mjs DATA_DIR ROWS
import { createClient } from '@clickhouse/client';
import { createChdbConnection } from 'chdb/connection';
import { migrate } from '../control-plane/dist/store/migrations.js';

const [dir, rowsText] = process.argv.slice(2);
const rows = Number(rowsText);
const ch = createClient({ connection: createChdbConnection({ path: dir }) });
await migrate(ch);
// Names, in the proportions a training fleet runs them, and the exe each runs from.
const comms =
  "['python3','python3','python3','bash','bash','sh','nvidia-smi','curl','sshd','git','pip','torchrun','node','sleep','cat','ls']";
const exes =
  "['/usr/bin/python3.11','/usr/bin/python3.11','/usr/bin/python3.11','/usr/bin/bash','/usr/bin/bash','/usr/bin/dash','/usr/bin/nvidia-smi','/usr/bin/curl','/usr/sbin/sshd','/usr/bin/git','/usr/local/bin/pip','/usr/local/bin/torchrun','/usr/bin/node','/usr/bin/sleep','/usr/bin/cat','/usr/bin/ls']";
const args =
  "['train.py --config configs/llm-7b.yaml','-m torch.distributed.run train.py','eval.py','-c nvidia-smi --query-gpu=utilization.gpu --format=csv','run.sh','-c true','--query-gpu=memory.used --format=csv','-so /tmp/ckpt.tar https://models.internal/ckpt.tar','-D','fetch origin','install -r requirements.txt','--nproc-per-node 8 train.py','server.js','60','/proc/meminfo','-la /data']";
const WEEK_US = 7 * 86_400 * 1_000_000;
const CHUNK = 1_000_000;
for (let off = 0; off < rows; off += CHUNK) {
  const n = Math.min(CHUNK, rows - off);
  await ch.command({
    query: `INSERT INTO events (id, host, ts, kind, pid, ppid, uid, comm, exe, argv, container_id, job, daddr, dport, gpu_device, gpu_ioctl, gpu_class, event_count, event)
      SELECT id, host, ts, kind, pid, ppid, uid, comm, exe, argv, '', job,
        if(kind = 'connect', daddr, ''), if(kind = 'connect', dport, 0),
        if(kind = 'gpu', '/dev/nvidia0', ''), if(kind = 'gpu', 'NV_ESC_RM_CONTROL', ''), 0, 1,
        concat('{"id":"', id, '","v":1,"host":"', host, '","ts":"', toString(toUnixTimestamp64Nano(ts)),
          '","kind":"', kind, '","proc":{"pid":', toString(pid), ',"ppid":', toString(ppid), ',"uid":', toString(uid),
          ',"gid":', toString(uid), ',"comm":"', comm, '","exe":"', exe, '","argv":', toJSONString(argv),
          ',"argvTruncated":false,"cwd":"/home/train","cgroupId":0,"cgroup":"/","containerId":null,"job":', if(job = '', 'null', concat('"', job, '"')),
          ',"startTs":null,"ancestry":[{"pid":', toString(ppid), ',"comm":"bash","exe":"/usr/bin/bash","argv":["bash"]}],"ancestryTruncated":false},',
          multiIf(
            kind = 'exec', concat('"exec":{"filename":"', exe, '","argv":', toJSONString(argv), ',"argvTruncated":false,"ret":0}'),
            kind = 'exit', '"exit":{"code":0,"signal":null}',
            kind = 'connect', concat('"connect":{"family":"ipv4","daddr":"', daddr, '","dport":', toString(dport), ',"ret":0,"count":1,"firstTs":"', toString(toUnixTimestamp64Nano(ts)), '","lastTs":"', toString(toUnixTimestamp64Nano(ts)), '"}'),
            concat('"gpu":{"device":"/dev/nvidia0","driver":"nvidia","major":195,"minor":0,"request":3223342634,"nr":42,"name":"NV_ESC_RM_CONTROL","xfer":false,"rmClass":null,"rmClassName":null,"rmControl":null,"count":1,"firstTs":"', toString(toUnixTimestamp64Nano(ts)), '","lastTs":"', toString(toUnixTimestamp64Nano(ts)), '"}')),
          '}')
      FROM (
        SELECT toString(generateUUIDv4(number)) AS id,
               concat('node-', toString(number % 64)) AS host,
               now64(9) - toIntervalMicrosecond(intHash64(number) % ${WEEK_US}) AS ts,
               ['exec','exit','connect','connect','gpu'][intHash32(number + 1) % 5 + 1] AS kind,
               toUInt32(1000 + intHash32(number + 2) % 300000) AS pid,
               toUInt32(1000 + intHash32(intDiv(number, 8)) % 300000) AS ppid,
               if(intHash32(number + 3) % 10 = 0, 0, 1000 + intHash32(number + 3) % 8) AS uid,
               intHash32(number + 4) % 16 + 1 AS p,
               ${comms}[p] AS comm,
               ${exes}[p] AS exe,
               arrayConcat([comm], splitByChar(' ', ${args}[p])) AS argv,
               if(p <= 3 OR p = 12, concat('slurm:', toString(4000 + intHash32(number % 64) % 500)), '') AS job,
               concat('10.', toString(intHash32(number + 5) % 256), '.', toString(intHash32(number + 6) % 256), '.', toString(intHash32(number + 7) % 256)) AS daddr,
               toUInt16([443, 443, 80, 22, 29500, 53][intHash32(number + 8) % 6 + 1]) AS dport
        FROM numbers(${off}, ${n}))`,
  });
  process.stderr.write(`seeded ${off + n}\n`);
}
// Alerts: what the detections would have raised over the same week, rules and severities mixed.
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
             now64(9) - toIntervalMicrosecond(intHash64(number) % ${WEEK_US}) AS ts,
             ${rules}[intHash32(number + 3) % 6 + 1] AS rule,
             toUInt8(intHash32(number + 7) % 4 + 1) AS sev_n,
             ${severities}[sev_n] AS sev,
             concat('seeded alert ', toString(number)) AS reason,
             toUInt32(1000 + intHash32(number) % 300000) AS pid
      FROM numbers(${Math.max(1, Math.floor(rows / 100))}))`,
});
process.stderr.write(`seeded ${Math.max(1, Math.floor(rows / 100))} alerts\n`);
await ch.close();
