/**
 * kafkajs 2.2.4 keeps each broker connection's request queue checking itself every millisecond
 * while nothing is pending: with no throttle the delay it computes is negative, so its timer
 * fires at once and schedules itself again, for ever (tulios/kafkajs#1556, #1604, #1704; the
 * fixes proposed there are not released). That cost an idle agent 0.035 core (strace: 1,700
 * epoll wake-ups a second with no container to follow), and the collector as much per
 * connection. This replaces that one method, for that version only, with the same logic less
 * the loop: a check is scheduled while requests are pending (at the throttle's end, or in
 * 10 ms as before) or while a throttle runs, and not otherwise; push() and each completed
 * request check the queue anyway. test/integration/lib/kafkajs-idle.test.ts counts the timers.
 */
import { createRequire } from 'node:module';

interface RequestQueue {
  throttledUntil: number;
  throttleCheckTimeoutId: NodeJS.Timeout | null;
  pending: unknown[];
  checkPendingRequests(): void;
  scheduleCheckPendingRequests(): void;
}

/** kafkajs's own interval for pending requests (src/network/requestQueue/index.js). */
const CHECK_PENDING_REQUESTS_INTERVAL = 10;

let done = false;

/** Applies the fix once, if the installed kafkajs is the version it is for; true when it is in place. */
export function fixKafkajsIdlePolling(): boolean {
  if (done) return true;
  const require = createRequire(import.meta.url);
  const { version } = require('kafkajs/package.json') as { version: string };
  if (version !== '2.2.4') return false;
  const RequestQueue = require('kafkajs/src/network/requestQueue/index.js') as { prototype: RequestQueue };
  RequestQueue.prototype.scheduleCheckPendingRequests = function (this: RequestQueue): void {
    if (this.throttleCheckTimeoutId) return;
    let scheduleAt = this.throttledUntil - Date.now();
    if (this.pending.length > 0) scheduleAt = scheduleAt > 0 ? scheduleAt : CHECK_PENDING_REQUESTS_INTERVAL;
    else if (scheduleAt <= 0) return;
    this.throttleCheckTimeoutId = setTimeout(() => {
      this.throttleCheckTimeoutId = null;
      this.checkPendingRequests();
    }, scheduleAt);
  };
  done = true;
  return true;
}
