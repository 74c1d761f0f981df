/**
 * Wireless uplink (docs/method.md section 3): devices placed uniformly in a disc around the base
 * station, path loss 128.1 + 37.6 log10(d_km) dB, block Rayleigh fading |h|^2 ~ Exp(1) redrawn
 * every round, FDMA shares of a total bandwidth W. Every draw comes from the streams
 * (seed, "channel", ...) and the round: two runs with the same seed see the same channel,
 * whatever their compressor or controller.
 */
import type { Rng } from '../rng';

export interface ChannelSpec {
  radiusM: number;
  minDistanceM: number;
  txPowerDbm: number;
  noisePsdDbmHz: number;
  bandwidthHz: number;
  computeGflopsMin: number;
  computeGflopsMax: number;
  /** Downlink broadcast rate for the global factors; null = downlink time not modelled. */
  downlinkMbps: number | null;
}

export interface Device {
  id: number;
  distanceM: number;
  pathLossDb: number;
  /** Training/compression speed in FLOP/s. */
  flops: number;
}

export const dbmToWatt = (dbm: number): number => 10 ** ((dbm - 30) / 10);

/** Path loss in dB at distance d (metres), the 3GPP macro-cell formula of docs/method.md. */
export function pathLossDb(distanceM: number): number {
  return 128.1 + 37.6 * Math.log10(distanceM / 1000);
}

/**
 * Achievable rate (bit/s) of a device with power gain g and bandwidth share beta:
 * R = beta W log2(1 + p g / (beta W N0)). Increasing and concave in beta; R(0) = 0.
 */
export function rate(share: number, gain: number, spec: ChannelSpec): number {
  if (share <= 0) return 0;
  const bw = share * spec.bandwidthHz;
  const snr = (dbmToWatt(spec.txPowerDbm) * gain) / (bw * dbmToWatt(spec.noisePsdDbmHz));
  return bw * Math.log2(1 + snr);
}

export class Channel {
  readonly devices: Device[];

  constructor(readonly spec: ChannelSpec, numDevices: number, private readonly rng: Rng) {
    this.devices = Array.from({ length: numDevices }, (_, k) => {
      const r = rng.child('device').child(k);
      const { radiusM: R, minDistanceM: r0 } = spec;
      // uniform over the annulus r0 <= d <= R: the area below d grows as d^2
      const distanceM = Math.sqrt(r0 * r0 + r.uniform() * (R * R - r0 * r0));
      const gflops = spec.computeGflopsMin + r.uniform() * (spec.computeGflopsMax - spec.computeGflopsMin);
      return { id: k, distanceM, pathLossDb: pathLossDb(distanceM), flops: gflops * 1e9 };
    });
  }

  /** Small-scale fading power |h|^2 of device k in round t (Exp(1), mean 1). */
  fading(t: number, k: number): number {
    return this.rng.child('fading').child(t).child(k).exponential();
  }

  /** Channel power gain (path loss and fading) of device k in round t. */
  gain(t: number, k: number): number {
    return 10 ** (-this.devices[k].pathLossDb / 10) * this.fading(t, k);
  }

  /** Gain without fading (its mean): what the offline stage plans with. */
  meanGain(k: number): number {
    return 10 ** (-this.devices[k].pathLossDb / 10);
  }

  rate(share: number, gain: number): number { return rate(share, gain, this.spec); }
}
