#!/usr/bin/env python3
"""Pretrain a GPT in PyTorch the way the book's chapter 5 does, as a reference for runner.

Same data pipeline (90/10 character split of the text, windows of context_length with
stride context_length, batch 2, shuffled train batches with the last incomplete one dropped),
same model shape (pre-LayerNorm GPT, GELU in tanh form, dropout 0.1, no qkv bias, separate
output head), AdamW(lr 4e-4, weight decay 0.1), evaluation every 5 steps on 5 batches.
It prints the losses at each evaluation and the wall time, so runner's recipes/pretrain.yaml
can be compared with it on the same machine:

  /usr/bin/time -v python scripts/pretrain_reference.py --text the-verdict.txt --init pytorch

`--init pytorch` keeps PyTorch's layer defaults, as the book's model does; `--init gpt2`
draws GPT-2's normal(0, 0.02) weights instead. Needs torch and tiktoken (`r50k_base` is
GPT-2's vocabulary).
"""

import argparse
import math
import time

import tiktoken
import torch
import torch.nn as nn
import torch.nn.functional as F


class Block(nn.Module):
    def __init__(self, width, heads, drop):
        super().__init__()
        self.heads = heads
        self.norm1 = nn.LayerNorm(width)
        self.qkv = nn.Linear(width, 3 * width, bias=False)
        self.proj = nn.Linear(width, width)
        self.norm2 = nn.LayerNorm(width)
        self.mlp = nn.Sequential(nn.Linear(width, 4 * width), nn.GELU(approximate="tanh"), nn.Linear(4 * width, width))
        self.drop = nn.Dropout(drop)
        self.attn_drop = drop

    def forward(self, x):
        b, t, c = x.shape
        q, k, v = self.qkv(self.norm1(x)).split(c, dim=2)
        # (B, T, C) -> (B, nh, T, hs)
        q, k, v = (z.view(b, t, self.heads, c // self.heads).transpose(1, 2) for z in (q, k, v))
        drop = self.attn_drop if self.training else 0.0
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True, dropout_p=drop)
        x = x + self.drop(self.proj(y.transpose(1, 2).reshape(b, t, c)))
        return x + self.drop(self.mlp(self.norm2(x)))


class Gpt(nn.Module):
    def __init__(self, vocab, context, width, heads, layers, drop):
        super().__init__()
        self.tok = nn.Embedding(vocab, width)
        self.pos = nn.Embedding(context, width)
        self.drop = nn.Dropout(drop)
        self.blocks = nn.Sequential(*[Block(width, heads, drop) for _ in range(layers)])
        self.norm = nn.LayerNorm(width)
        self.head = nn.Linear(width, vocab, bias=False)

    def forward(self, ids):
        positions = torch.arange(ids.shape[1], device=ids.device)
        x = self.drop(self.tok(ids) + self.pos(positions))
        return self.head(self.norm(self.blocks(x)))


def gpt2_init(model, layers):
    for name, param in model.named_parameters():
        if name.endswith("bias"):
            nn.init.zeros_(param)
        elif "norm" in name:
            nn.init.ones_(param)
        else:
            std = 0.02 / math.sqrt(2 * layers) if name.endswith(("proj.weight", "mlp.2.weight")) else 0.02
            nn.init.normal_(param, 0.0, std)


def windows(ids, context, stride):
    starts = range(0, len(ids) - context, stride)
    return [(ids[i:i + context], ids[i + 1:i + context + 1]) for i in starts]


def batches(data, size, shuffle, drop_last, generator):
    order = torch.randperm(len(data), generator=generator).tolist() if shuffle else list(range(len(data)))
    for start in range(0, len(order), size):
        chunk = order[start:start + size]
        if drop_last and len(chunk) < size:
            break
        yield torch.tensor([data[i][0] for i in chunk]), torch.tensor([data[i][1] for i in chunk])


def mean_loss(model, data, size, shuffle, count, generator):
    losses = []
    for inputs, targets in batches(data, size, shuffle, shuffle, generator):
        if len(losses) == count:
            break
        losses.append(F.cross_entropy(model(inputs).flatten(0, 1), targets.flatten()).item())
    return sum(losses) / len(losses)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--text", required=True)
    parser.add_argument("--init", choices=["pytorch", "gpt2"], default="pytorch")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--context", type=int, default=256)
    parser.add_argument("--width", type=int, default=768)
    parser.add_argument("--heads", type=int, default=12)
    parser.add_argument("--layers", type=int, default=12)
    args = parser.parse_args()

    started = time.time()
    torch.manual_seed(123)
    text = open(args.text, encoding="utf-8").read()
    split = int(0.9 * len(text))
    encoding = tiktoken.get_encoding("r50k_base")
    train = windows(encoding.encode(text[:split]), args.context, args.context)
    val = windows(encoding.encode(text[split:]), args.context, args.context)

    model = Gpt(50257, args.context, args.width, args.heads, args.layers, 0.1)
    if args.init == "gpt2":
        gpt2_init(model, args.layers)
    optimizer = torch.optim.AdamW(model.parameters(), lr=4e-4, weight_decay=0.1)
    generator = torch.Generator().manual_seed(123)

    step = 0
    for epoch in range(1, args.epochs + 1):
        model.train()
        for inputs, targets in batches(train, 2, True, True, generator):
            optimizer.zero_grad()
            F.cross_entropy(model(inputs).flatten(0, 1), targets.flatten()).backward()
            optimizer.step()
            step += 1
            if (step - 1) % 5 == 0:
                model.eval()
                with torch.no_grad():
                    train_loss = mean_loss(model, train, 2, True, 5, generator)
                    val_loss = mean_loss(model, val, 2, False, 5, generator)
                model.train()
                print(f"epoch {epoch} (step {step:06d}): train loss {train_loss:.3f}, val loss {val_loss:.3f}", flush=True)
    print(f"wall time {time.time() - started:.1f} s")


if __name__ == "__main__":
    main()
