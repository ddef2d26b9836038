"""PyTorch side of bench/native.js: SGEMM GFLOP/s and BERT-mini training seq/s (ResNet-18 is bench/resnet_torch.py).

Prints one JSON line. usage:
  python3 bench/native_torch.py sgemm --m 512 --k 512 --n 512 [--seconds 1.5] [--threads 2]
  python3 bench/native_torch.py bert [--batch 16] [--seq 128] [--steps 3] [--threads 2]
  python3 bench/native_torch.py resnet-cpu --batch 64 [--steps 3] [--threads 1]
resnet-cpu: the process CPU time of one ResNet-18 CIFAR training step (bench/resnet_torch.py's model, SGD
momentum), median of --steps: unlike img/s it hardly moves when other processes share the cores.
BERT-mini = google/bert_uncased_L-4_H-256_A-4 (hidden 256, 4 layers, 4 heads, intermediate 1024) with a
sequence-classification head, written out here as Hugging Face's BertForSequenceClassification computes it.
"""
import argparse
import json
import math
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


def sgemm(a):
    x = torch.rand(a.m, a.k)
    y = torch.rand(a.k, a.n)
    torch.mm(x, y)
    samples = []
    start = time.perf_counter()
    while time.perf_counter() - start < a.seconds or len(samples) < 5:
        t = time.perf_counter()
        torch.mm(x, y)
        samples.append(time.perf_counter() - t)
    samples.sort()
    return {"gflops": 2 * a.m * a.n * a.k / samples[len(samples) // 2] / 1e9}


class Layer(nn.Module):
    def __init__(self, h, heads, inter, p):
        super().__init__()
        self.heads = heads
        self.q, self.k, self.v, self.o = (nn.Linear(h, h) for _ in range(4))
        self.ln1 = nn.LayerNorm(h, eps=1e-12)
        self.up = nn.Linear(h, inter)
        self.down = nn.Linear(inter, h)
        self.ln2 = nn.LayerNorm(h, eps=1e-12)
        self.p = p

    def forward(self, x, mask):
        b, l, h = x.shape
        d = h // self.heads
        split = lambda t: t.view(b, l, self.heads, d).transpose(1, 2)
        q, k, v = split(self.q(x)), split(self.k(x)), split(self.v(x))
        scores = q @ k.transpose(-1, -2) / math.sqrt(d) + mask
        probs = F.dropout(scores.softmax(-1), self.p, self.training)
        ctx = (probs @ v).transpose(1, 2).reshape(b, l, h)
        x = self.ln1(x + F.dropout(self.o(ctx), self.p, self.training))
        return self.ln2(x + F.dropout(self.down(F.gelu(self.up(x))), self.p, self.training))


class BertMini(nn.Module):
    def __init__(self, vocab=30522, h=256, layers=4, heads=4, inter=1024, positions=512, labels=2, p=0.1):
        super().__init__()
        self.word = nn.Embedding(vocab, h)
        self.pos = nn.Embedding(positions, h)
        self.token_type = nn.Embedding(2, h)
        self.ln = nn.LayerNorm(h, eps=1e-12)
        self.layers = nn.ModuleList(Layer(h, heads, inter, p) for _ in range(layers))
        self.pool = nn.Linear(h, h)
        self.cls = nn.Linear(h, labels)
        self.p = p

    def forward(self, ids, mask):
        b, l = ids.shape
        x = self.word(ids) + self.pos(torch.arange(l)) + self.token_type(torch.zeros_like(ids))
        x = F.dropout(self.ln(x), self.p, self.training)
        m = (1.0 - mask[:, None, None, :].float()) * -10000.0
        for layer in self.layers:
            x = layer(x, m)
        return self.cls(F.dropout(torch.tanh(self.pool(x[:, 0])), self.p, self.training))


def bert(a):
    torch.manual_seed(0)
    model = BertMini()
    ids = torch.randint(0, 30522, (a.batch, a.seq))
    mask = torch.ones(a.batch, a.seq, dtype=torch.long)
    y = torch.randint(0, 2, (a.batch,))
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
    model.train()

    def step():
        opt.zero_grad()
        loss = F.cross_entropy(model(ids, mask), y)
        loss.backward()
        opt.step()
        return loss.item()

    step()
    t = time.perf_counter()
    for _ in range(a.steps):
        step()
    return {"train_seq_s": a.batch * a.steps / (time.perf_counter() - t), "params": sum(q.numel() for q in model.parameters())}


def resnet_cpu(a):
    import os
    import sys

    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from resnet_torch import ResNet18Cifar

    torch.manual_seed(0)
    model = ResNet18Cifar()
    x = torch.rand(a.batch, 3, 32, 32)
    y = torch.randint(0, 10, (a.batch,))
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    model.train()

    def step():
        opt.zero_grad()
        F.cross_entropy(model(x), y).backward()
        opt.step()

    step()
    cpu, wall = [], []
    for _ in range(a.steps):
        c, w = time.process_time(), time.perf_counter()
        step()
        cpu.append((time.process_time() - c) * 1e3)
        wall.append((time.perf_counter() - w) * 1e3)
    return {"cpu_ms_per_step": sorted(cpu)[len(cpu) // 2], "wall_ms_per_step": sorted(wall)[len(wall) // 2]}


def main():
    p = argparse.ArgumentParser()
    p.add_argument("what", choices=["sgemm", "bert", "resnet-cpu"])
    p.add_argument("--m", type=int, default=512)
    p.add_argument("--k", type=int, default=512)
    p.add_argument("--n", type=int, default=512)
    p.add_argument("--seconds", type=float, default=1.5)
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--seq", type=int, default=128)
    p.add_argument("--steps", type=int, default=3)
    p.add_argument("--threads", type=int, default=2)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    out = sgemm(a) if a.what == "sgemm" else bert(a) if a.what == "bert" else resnet_cpu(a)
    out.update({"torch": torch.__version__, "threads": torch.get_num_threads()})
    print(json.dumps(out))


if __name__ == "__main__":
    main()
