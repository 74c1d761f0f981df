#!/usr/bin/python3
"""PyTorch reference for `npm run bench -- step`: one local LoRA training step of the engine's ViT.

Same architecture as src/engine/model/vit.ts: patch rows [B*np, p*p*c] -> linear patch embedding,
CLS token + learned positions, `depth` pre-norm blocks (LN -> MHSA -> residual, LN -> fc1 -> exact
GELU -> fc2 -> residual), final LN on the CLS token, linear head. LoRA on the chosen projections:
y = x W + b + (alpha / r) (x A) B, A [d_in, r] uniform(+-1/sqrt(d_in)), B [r, d_out] zeros.
Base frozen; LoRA factors and the (fresh) head train with Adam. Random weights: timing only.
--cls-only: the last block computes its query, output projection and MLP for the CLS token only
(the only row the head reads), as the engine does; the loss and gradients are the same.

usage: OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 /usr/bin/python3 vit_lora_step.py \
         [--spec JSON] [--batch 32] [--rank 8] [--alpha 16] [--targets q,v] [--steps 30] [--warmup 5] [--cls-only]
prints one JSON line: medianStepMs (min, max), matmulGflops (1024^3 fp32 matmul), cpuShare (CPU time
/ wall time of the timed steps: < 1 when other work took the core), torch version, threads, ...
"""
import argparse, json, math, statistics, time

import torch
import torch.nn as nn
import torch.nn.functional as F

ap = argparse.ArgumentParser()
ap.add_argument('--spec', default='{"imageSize":28,"channels":1,"patchSize":7,"dim":64,"depth":4,"heads":4,"mlpDim":128,"numClasses":10}')
ap.add_argument('--batch', type=int, default=32)
ap.add_argument('--rank', type=int, default=8)
ap.add_argument('--alpha', type=float, default=16)
ap.add_argument('--targets', default='q,v')
ap.add_argument('--lr', type=float, default=0.003)
ap.add_argument('--steps', type=int, default=30)
ap.add_argument('--warmup', type=int, default=5)
ap.add_argument('--threads', type=int, default=1)
ap.add_argument('--cls-only', action='store_true')
args = ap.parse_args()

torch.set_num_threads(args.threads)
torch.manual_seed(0)
S = json.loads(args.spec)
D, DEPTH, H, MLP, C = S['dim'], S['depth'], S['heads'], S['mlpDim'], S['numClasses']
NP = (S['imageSize'] // S['patchSize']) ** 2
T, HD, PD = NP + 1, D // H, S['patchSize'] ** 2 * S['channels']
TARGETS = set(args.targets.split(','))
B = args.batch


class Linear(nn.Module):
    """x W + b with W [d_in, d_out] frozen, plus an optional LoRA branch (alpha/r) (x A) B."""

    def __init__(self, din, dout, lora):
        super().__init__()
        self.w = nn.Parameter(torch.randn(din, dout) / math.sqrt(din), requires_grad=False)
        self.b = nn.Parameter(torch.zeros(dout), requires_grad=False)
        self.lora = lora
        if lora:
            bound = 1 / math.sqrt(din)
            self.a = nn.Parameter(torch.empty(din, args.rank).uniform_(-bound, bound))
            self.bb = nn.Parameter(torch.zeros(args.rank, dout))
            self.scale = args.alpha / args.rank

    def forward(self, x):
        y = torch.addmm(self.b, x, self.w)
        if self.lora:
            y = y + (x @ self.a @ self.bb) * self.scale
        return y


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.ln1, self.ln2 = nn.LayerNorm(D, eps=1e-5), nn.LayerNorm(D, eps=1e-5)
        for t in ('q', 'k', 'v', 'o'):
            setattr(self, t, Linear(D, D, t in TARGETS))
        self.fc1, self.fc2 = Linear(D, MLP, 'fc1' in TARGETS), Linear(MLP, D, 'fc2' in TARGETS)
        for p in (*self.ln1.parameters(), *self.ln2.parameters()):
            p.requires_grad_(False)

    def forward(self, x, cls_only=False):  # x [B*T, D] (2-D activations, as in vit.ts)
        n = self.ln1(x)
        split = lambda t, rows: t.view(B, rows, H, HD).transpose(1, 2)  # [B, H, rows, hd]
        first = (lambda t: t.view(B, T, D)[:, 0]) if cls_only else (lambda t: t)
        tq = 1 if cls_only else T
        q, k, v = split(self.q(first(n)), tq), split(self.k(n), T), split(self.v(n), T)
        att = torch.softmax((q @ k.transpose(-1, -2)) * (1 / math.sqrt(HD)), -1)
        o = (att @ v).transpose(1, 2).reshape(B * tq, D)
        x = first(x) + self.o(o)
        return x + self.fc2(F.gelu(self.fc1(self.ln2(x))))  # exact (erf) GELU


class ViT(nn.Module):
    def __init__(self):
        super().__init__()
        self.patch = Linear(PD, D, False)
        self.cls = nn.Parameter(torch.randn(1, 1, D) * 0.02, requires_grad=False)
        self.pos = nn.Parameter(torch.randn(T, D) * 0.02, requires_grad=False)
        self.blocks = nn.ModuleList([Block() for _ in range(DEPTH)])
        self.norm = nn.LayerNorm(D, eps=1e-5)
        self.norm.requires_grad_(False)
        self.head = nn.Linear(D, C)  # fresh head: trainable

    def forward(self, patches):  # patches [B*NP, PD]
        emb = self.patch(patches).view(B, NP, D)
        x = (torch.cat([self.cls.expand(B, -1, -1), emb], 1) + self.pos).reshape(B * T, D)
        for i, blk in enumerate(self.blocks):
            x = blk(x, args.cls_only and i == DEPTH - 1)
        return self.head(self.norm(x if args.cls_only else x.view(B, T, D)[:, 0]))


model = ViT()
train = [p for p in model.parameters() if p.requires_grad]
opt = torch.optim.Adam(train, lr=args.lr, betas=(0.9, 0.999), eps=1e-8)
x = torch.rand(B * NP, PD)
y = torch.randint(0, C, (B,))


def step():
    opt.zero_grad(set_to_none=True)
    loss = F.cross_entropy(model(x), y)
    loss.backward()
    opt.step()
    return loss.item()


for _ in range(args.warmup):
    step()
ts, cpu = [], []
for _ in range(args.steps):
    t0, c0 = time.perf_counter(), time.process_time()
    step()
    ts.append((time.perf_counter() - t0) * 1e3)
    cpu.append((time.process_time() - c0) * 1e3)

# raw matmul throughput of this torch build (a generic reference BLAS shows up here as ~5 GFLOP/s)
a, b = torch.rand(1024, 1024), torch.rand(1024, 1024)
a @ b
mm = []
for _ in range(5):
    t0 = time.perf_counter()
    a @ b
    mm.append(time.perf_counter() - t0)
gflops = 2 * 1024 ** 3 / statistics.median(mm) / 1e9

print(json.dumps(dict(impl='torch', clsOnly=args.cls_only, torch=torch.__version__, threads=torch.get_num_threads(), batch=B, tokens=T,
                      steps=args.steps, warmup=args.warmup, medianStepMs=round(statistics.median(ts), 2),
                      minStepMs=round(min(ts), 2), maxStepMs=round(max(ts), 2), matmulGflops=round(gflops, 1),
                      # CPU time / wall time over the timed steps: well under 1 means the process waited for the core
                      cpuShare=round(sum(cpu) / sum(ts), 3), medianCpuMs=round(statistics.median(cpu), 2),
                      trainParams=sum(p.numel() for p in train))))
