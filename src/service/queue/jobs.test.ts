import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../engine/config';
import { resourcesDir } from '../data/resources';
import {
  clientJobData, clientJobId, clientJobSchema, clientResultSchema, decodeResult, encodeResult, inputDigest, MAX_TENSOR_FLOATS,
} from './jobs';
import { manifestProblems, runManifest } from './manifest';
import { parseQueueUrl, QueueUrlError } from './url';

const worker = { id: 'h.1', host: 'h', pid: 1, backend: 'wasm' };

/** Floats whose bits a lossy text codec would change: -0, NaN, subnormals, extremes. */
function awkward(n: number): Float32Array {
  const a = new Float32Array(n);
  const special = [-0, NaN, Infinity, -Infinity, 1.4e-45, 3.4028235e38, 1 / 3, -1e-38];
  for (let i = 0; i < n; i++) a[i] = i < special.length ? special[i] : Math.sin(i) * 10 ** ((i % 20) - 10);
  return a;
}
const bits = (a: Float32Array) => Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length));

describe('queue payloads', () => {
  const job = {
    round: 3, client: 7,
    global: { 'blocks.0.q.lora_a': { shape: [4, 2], data: awkward(8) }, 'head.b': { shape: [3], data: new Float32Array([1, 2, 3]) } },
    optState: { step: 12, m: { 'head.b': awkward(3) }, v: { 'head.b': new Float32Array([0.5, 0.25, 0]) } },
  };

  it('a job and its result cross JSON bit for bit (NaN, -0, subnormals included)', () => {
    const d = clientJobData('run-1', 'a'.repeat(64), job, 0);
    const back = clientJobSchema.parse(JSON.parse(JSON.stringify(d)));
    const res = encodeResult('id', back, { update: job.global, optState: job.optState, meanLoss: NaN, steps: 4, samplesProcessed: 128 }, worker, { total: 2, train: 1 });
    const got = decodeResult(clientResultSchema.parse(JSON.parse(JSON.stringify(res))));
    expect(bits(got.update['blocks.0.q.lora_a'].data)).toEqual(bits(job.global['blocks.0.q.lora_a'].data));
    expect(got.update['blocks.0.q.lora_a'].shape).toEqual([4, 2]);
    expect(bits(got.optState.m['head.b'])).toEqual(bits(job.optState.m['head.b']));
    expect(got.optState.step).toBe(12);
    expect(got.meanLoss).toBeNaN();
  });

  it('job ids carry run, round, client and attempt, and change with the inputs', () => {
    const d = clientJobData('run-1', 'a'.repeat(64), job, 2);
    const id = clientJobId('run-1', 3, 7, 2, inputDigest(d));
    expect(id).toMatch(/^run-1\.r3\.c7\.a2\.[0-9a-f]{16}$/);
    expect(id).not.toContain(':'); // BullMQ refuses ":" in custom ids
    // the attempt is not an input: the same inputs digest the same
    expect(inputDigest(clientJobData('run-1', 'a'.repeat(64), job, 5))).toBe(inputDigest(d));
    const other = { ...job, optState: { ...job.optState, step: 13 } };
    expect(inputDigest(clientJobData('run-1', 'a'.repeat(64), other, 2))).not.toBe(inputDigest(d));
    expect(inputDigest(clientJobData('run-2', 'a'.repeat(64), job, 2))).not.toBe(inputDigest(d));
  });

  it('the schema rejects malformed and oversized payloads, naming the field', () => {
    const good = clientJobData('run-1', 'a'.repeat(64), job, 0);
    const issues = (x: unknown) => { const r = clientJobSchema.safeParse(x); return r.success ? [] : r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`); };
    expect(issues(good)).toEqual([]);
    expect(issues({ ...good, round: -1 }).join()).toMatch(/^round: /);
    expect(issues({ ...good, extra: 'rm -rf /' }).join()).toMatch(/unrecognized|extra/i);
    expect(issues({ ...good, runId: '../etc' }).join()).toMatch(/^runId: /);
    // a shape claiming more values than its data holds, or more than the limit
    expect(issues({ ...good, global: { w: { shape: [3], data: good.global['head.b'].data.slice(0, 8) } } }).join()).toMatch(/global\.w: data holds \d+ bytes, shape \[3\] needs 12/);
    expect(issues({ ...good, global: { w: { shape: [MAX_TENSOR_FLOATS, 2], data: '' } } }).join()).toMatch(/more than/);
    expect(issues({ ...good, global: { 'bad name!': good.global['head.b'] } }).join()).toMatch(/global\.bad name!: (Invalid key|tensor names)/);
    expect(issues({ ...good, optState: { ...good.optState, m: { x: 'not*base64' } } }).join()).toMatch(/base64/);
  });
});

describe('queue URL', () => {
  it('parses host, port, db, user, password and TLS; the display form hides the password', () => {
    const t = parseQueueUrl('rediss://alice:s%40cret@redis.lab:6380/2');
    expect(t.options).toMatchObject({ host: 'redis.lab', port: 6380, db: 2, username: 'alice', password: 's@cret' });
    expect(t.tls).toBe(true);
    expect(t.options.tls).toEqual({ servername: 'redis.lab' });
    expect(t.display).toBe('rediss://alice@redis.lab:6380/2');
    expect(t.display).not.toContain('cret');
    const p = parseQueueUrl('redis://:pw@127.0.0.1:7000');
    expect(p.options).toMatchObject({ host: '127.0.0.1', port: 7000, db: 0, password: 'pw' });
    expect(p.options.username).toBeUndefined();
    expect(p.display).toBe('redis://127.0.0.1:7000/0');
    expect(parseQueueUrl('redis://localhost').options.port).toBe(6379);
  });

  it('bad URLs get an error naming --queue and the expected form, without echoing a password', () => {
    for (const [url, re] of [
      ['127.0.0.1:6379', /scheme|not a URL/], ['http://h:1', /scheme "http"/], ['redis://h:1/99', /database "99"/],
      ['redis://h:1/x', /database "x"/], ['redis://h:1?tls=1', /query/], ['not a url', /not a URL/],
    ] as const) {
      expect(() => parseQueueUrl(url)).toThrow(QueueUrlError);
      expect(() => parseQueueUrl(url)).toThrow(re);
      expect(() => parseQueueUrl(url)).toThrow(/^--queue: .*expected redis:\/\//);
    }
    expect(() => parseQueueUrl('redis://u:topsecret@h:1/x')).not.toThrow(/topsecret/);
  });
});

describe('run manifest', () => {
  it('a worker whose dataset copy differs is told which file, by path', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fedlora-manifest-'));
    const data = path.join(dir, 'fmnist');
    fs.cpSync(path.join(resourcesDir(), 'data/fashion-mnist'), data, { recursive: true });
    const config = parseConfig({ data: { dataset: data }, model: { name: 'vit-fmnist-base' } });
    const m = runManifest(config);
    expect(m.map((e) => `${e.field} ${e.rel}`)).toEqual(expect.arrayContaining(['data.dataset t10k-labels-idx1-ubyte.gz', 'model.name vit-fmnist-base.safetensors']));
    expect(manifestProblems(config, m)).toEqual([]);
    // same size, one byte changed: found by hash
    const f = path.join(data, 't10k-labels-idx1-ubyte.gz');
    const b = fs.readFileSync(f); b[b.length - 1] ^= 1; fs.writeFileSync(f, b);
    expect(manifestProblems(config, m)).toEqual([expect.stringMatching(new RegExp(`^data\\.dataset: ${f.replace(/[.]/g, '\\.')} differs from the coordinator's copy \\(sha256 [0-9a-f]{12}\\.\\.\\. here`))]);
    // a missing and an extra file
    fs.rmSync(path.join(data, 'README.md'));
    fs.writeFileSync(path.join(data, 'extra.txt'), 'x');
    const p = manifestProblems(config, m).join('\n');
    expect(p).toContain('data.dataset: README.md is missing on this worker');
    expect(p).toContain(`data.dataset: ${path.join(data, 'extra.txt')} is on this worker but not in the coordinator's copy`);
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
