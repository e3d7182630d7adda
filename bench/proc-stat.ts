/** CPU counters from Linux's /proc, for telling whether a bench run was limited by this machine. Undefined elsewhere. */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

const clockTicks = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/** CPU seconds of this process's waited-for children (cutime + cstime of /proc/self/stat). */
export function childrenCpuSeconds(): number | undefined {
  try {
    const stat = readFileSync('/proc/self/stat', 'utf8');
    // Fields after the command name (which may contain spaces) start at field 3.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[13]) + Number(fields[14])) / clockTicks;
  } catch {
    return undefined;
  }
}

/** Jiffies of every core since boot (the first line of /proc/stat): busy = all but idle and iowait. */
export function machineCpu(): { busy: number; total: number; cores: number } | undefined {
  try {
    const lines = readFileSync('/proc/stat', 'utf8').split('\n');
    const [, ...values] = lines[0]!.trim().split(/\s+/);
    // user nice system idle iowait irq softirq steal; guest and guest_nice are already inside user and nice.
    const [user, nice, system, idle, iowait, irq, softirq, steal] = values.slice(0, 8).map(Number) as number[];
    const total = user! + nice! + system! + idle! + iowait! + irq! + softirq! + steal!;
    return { busy: total - idle! - iowait!, total, cores: lines.filter((line) => /^cpu\d+ /.test(line)).length };
  } catch {
    return undefined;
  }
}
