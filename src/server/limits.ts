/** Request limits of the local server: sizes, a token bucket over all API calls, and in-flight caps. */

export interface ServerLimits {
  /** Largest request body (bytes); more is answered 413. */
  maxBodyBytes: number;
  /** API calls being handled at once; more are answered 503. */
  maxInFlight: number;
  /** Sustained API calls per second (token bucket refill); more are answered 429. */
  ratePerSecond: number;
  /** Token bucket size: calls allowed in a burst. */
  burst: number;
  /** Open TCP connections; the server drops more. */
  maxConnections: number;
  /** WebSocket event clients at once; more are refused with 503. */
  maxEventClients: number;
  /** A WebSocket client that falls this far behind (bytes buffered) is disconnected. */
  maxEventBufferBytes: number;
}

export const DEFAULT_LIMITS: ServerLimits = {
  maxBodyBytes: 1 << 20,
  maxInFlight: 32,
  ratePerSecond: 200,
  burst: 400,
  maxConnections: 4096,
  maxEventClients: 16,
  maxEventBufferBytes: 8 << 20,
};

export class TokenBucket {
  private tokens: number;
  private last: number;
  constructor(private readonly ratePerSecond: number, private readonly burst: number, private readonly now: () => number = () => performance.now()) {
    this.tokens = burst;
    this.last = now();
  }

  /** Takes one token; false when the bucket is empty. */
  take(): boolean {
    const t = this.now();
    this.tokens = Math.min(this.burst, this.tokens + ((t - this.last) / 1000) * this.ratePerSecond);
    this.last = t;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}
