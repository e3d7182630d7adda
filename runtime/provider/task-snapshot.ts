/** Where a provider task stands, in our words. */
export type ProviderPhase = 'queued' | 'running' | 'succeeded' | 'failed';

/** One answer of the provider about a task, as its adapter reads it (ProviderClient.getTask). */
export interface ProviderTaskSnapshot {
  taskId: string;
  phase: ProviderPhase;
  /** The provider's own status word, kept for logs and debugging. */
  providerStatus: string;
  /** 0..100 when the provider said anything about it. */
  progress?: number;
  videoUrl?: string;
  failReason?: string;
  submitTime?: number;
  startTime?: number;
  finishTime?: number;
  /**
   * The share of its run the task has done at most (0 < share ≤ 1), as far as the adapter can tell
   * from this answer: what the poll policy learns from the progress. 1 when the answer bounds
   * nothing; absent when it says nothing about the run (a queued task).
   */
  shareDoneAtMost?: number;
}
