// Small helpers for the TURN benchmark: free ports, STUN Binding probe, /proc CPU, medians.
import dgram from 'node:dgram';
import { readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { MessageBuilder } from '../../turn/stun/builder.js';

/** Clock ticks per second for /proc/<pid>/stat (USER_HZ, 100 on Linux). */
const USER_HZ = 100;

/** CPU time of a process, all its threads, in microseconds: user space and kernel. */
export function procCpu(pid: number): { user: number; system: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // After "pid (comm) ", field 3 is state; utime and stime are fields 14 and 15 overall.
  return { user: (Number(fields[11]) * 1_000_000) / USER_HZ, system: (Number(fields[12]) * 1_000_000) / USER_HZ };
}

export async function freeUdpPort(): Promise<number> {
  const s = dgram.createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
  const port = s.address().port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/** Polls a STUN Binding on 127.0.0.1:port until it is answered (at most ~10 s). */
export async function bindingWorks(port: number): Promise<boolean> {
  const s = dgram.createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
  try {
    for (let i = 0; i < 50; i++) {
      const req = new MessageBuilder(0x0001, randomBytes(12)).finish({ fingerprint: true });
      const ok = await new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => resolve(false), 200);
        s.once('message', () => {
          clearTimeout(timer);
          resolve(true);
        });
        s.send(req, port, '127.0.0.1');
      });
      if (ok) return true;
    }
    return false;
  } finally {
    s.close();
  }
}

export function median(values: number[]): number {
  const v = values.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return NaN;
  return v.length % 2 ? v[(v.length - 1) / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
}

/** A counter of the Udp: line of /proc/net/snmp (this network namespace, every socket). */
function udpCounter(name: string): number {
  const lines = readFileSync('/proc/net/snmp', 'utf8').split('\n').filter((l) => l.startsWith('Udp:'));
  if (lines.length < 2) return NaN;
  const names = lines[0].split(/\s+/);
  const values = lines[1].split(/\s+/);
  return Number(values[names.indexOf(name)]);
}

/** UDP datagrams the kernel dropped for full receive buffers. */
export const udpRcvbufErrors = (): number => udpCounter('RcvbufErrors');

/** UDP datagrams delivered to sockets. */
export const udpInDatagrams = (): number => udpCounter('InDatagrams');

/**
 * Samples a counter every `everyMs` until stopped; `steadyRate()` is the median per-second rate
 * over the windows at >= half the busiest window's rate (the load's plateau, not its ramp or tail).
 */
export function sampleRate(read: () => number, everyMs: number): { steadyRate(): number; stop(): void } {
  const rates: number[] = [];
  let last = read();
  let at = performance.now();
  const timer = setInterval(() => {
    const value = read();
    const now = performance.now();
    rates.push(((value - last) * 1000) / (now - at));
    last = value;
    at = now;
  }, everyMs);
  return {
    steadyRate() {
      const peak = Math.max(0, ...rates);
      return median(rates.filter((r) => r >= peak / 2));
    },
    stop: () => clearInterval(timer),
  };
}
