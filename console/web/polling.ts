import { useEffect, useRef } from 'preact/hooks';

/**
 * Calls `poll` now and then every `intervalMs` while `active` and while the page is visible: a
 * hidden tab asks the API nothing, and catches up the moment it is shown again. Calls never overlap;
 * a change of `key` aborts the call in flight (its answer is for the old key) and starts again.
 */
export function usePolling(poll: (signal: AbortSignal) => Promise<void>, intervalMs: number, active: boolean, key: string): void {
  const latest = useRef(poll);
  latest.current = poll;
  useEffect(() => {
    if (!active) return;
    const controller = new AbortController();
    let timer: ReturnType<typeof setTimeout> | undefined;
    let running = false;
    const run = async () => {
      clearTimeout(timer);
      if (controller.signal.aborted || running || document.visibilityState !== 'visible') return;
      running = true;
      try {
        await latest.current(controller.signal);
      } finally {
        running = false;
      }
      if (!controller.signal.aborted && document.visibilityState === 'visible') timer = setTimeout(() => void run(), intervalMs);
    };
    const onVisibility = () => void run();
    document.addEventListener('visibilitychange', onVisibility);
    void run();
    return () => {
      controller.abort();
      clearTimeout(timer);
      document.removeEventListener('visibilitychange', onVisibility);
    };
  }, [active, intervalMs, key]);
}
