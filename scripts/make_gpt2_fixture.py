#!/usr/bin/env python3
"""Build a random GPT-2 with transformers and record its outputs for runner's import tests.

The default `tiny` size writes tests/fixtures/gpt2-tiny/:

  config.json        transformers' GPT2Config (50257 tokens, 128 positions, width 64,
                     2 heads, 2 layers)
  model.safetensors  the weights as GPT2LMHeadModel.save_pretrained writes them: names with
                     the `transformer.` prefix, no lm_head.weight (it is tied to wte), F16
  reference.json     logits for the GPT-2 ids of "Every effort moves you" and the greedy
                     continuation of 10 tokens, computed by transformers in float32

The weights are stored as F16 to keep the file at 6.5 MB instead of 13 MB. The reference is
computed after rounding the weights to F16 and converting them back to float32, so it is
exact for the F16 file.

`--size small` writes a random GPT-2 small (124M parameters, float32, about 500 MB) with
config.json and no reference, for the import benchmark. Write it outside the repository.

The script needs torch and transformers. Unless `--no-install` is given, it installs the
pinned versions below with pip into the running interpreter, so run it inside a virtual
environment. The CUDA build of torch that PyPI serves for Linux pulls about 5.6 GB of
packages; the script uses only the CPU.

`--check-export DIR` loads a folder that `runner export` wrote with transformers'
GPT2LMHeadModel.from_pretrained, fails if any tensor is missing, unexpected or of another
shape, and compares its logits for the prompt with those in `--reference FILE` (a file in the
format of reference.json, by default the fixture's), within the Rust tests' tolerance.

Usage:
  python3 -m venv /tmp/gpt2-fixture && /tmp/gpt2-fixture/bin/python scripts/make_gpt2_fixture.py
  /tmp/gpt2-fixture/bin/python scripts/make_gpt2_fixture.py --size small --out /tmp/gpt2-small-random
  /tmp/gpt2-fixture/bin/python scripts/make_gpt2_fixture.py --check-export /tmp/exported
"""

import argparse
import importlib.util
import json
import platform
import subprocess
import sys
from pathlib import Path

TORCH_VERSION = "2.15.0"
TRANSFORMERS_VERSION = "5.25.0"

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = REPO_ROOT / "tests" / "fixtures" / "gpt2-tiny"

PROMPT = "Every effort moves you"
# GPT-2 BPE ids of PROMPT, as chapter 4 of "Build a Large Language Model (From Scratch)"
# prints them. The Rust test checks that runner's tokenizer gives the same ids. They are fixed
# here because loading GPT2Tokenizer would download its files from the Hub.
PROMPT_IDS = [6109, 3626, 6100, 345]
NEW_TOKENS = 10
# Largest difference between two implementations' logits that counts as equal, the same as
# in the Rust parity test.
LOGIT_TOLERANCE = 1e-4
# Every logit at these token ids is recorded for each prompt position, plus the top ids.
SAMPLED_TOKEN_STRIDE = 100
TOP_K = 5
# Greedy decoding in two implementations picks the same token only if the best logit leads
# the second by more than their rounding differences, so seeds with closer races are skipped.
MIN_GREEDY_MARGIN = 1e-3
# A continuation that repeats one token would not show that positions are embedded correctly.
MIN_DISTINCT_NEW_TOKENS = 5
MAX_SEED_TRIES = 50

SIZES = {
    "tiny": {"n_embd": 64, "n_head": 2, "n_layer": 2, "n_positions": 128},
    "small": {"n_embd": 768, "n_head": 12, "n_layer": 12, "n_positions": 1024},
}


def ensure_packages(install: bool) -> None:
    missing = [name for name in ("torch", "transformers") if importlib.util.find_spec(name) is None]
    if not missing:
        return
    if not install:
        sys.exit(f"missing Python packages: {', '.join(missing)}; install them or drop --no-install")
    print(f"installing torch=={TORCH_VERSION} transformers=={TRANSFORMERS_VERSION} with pip", file=sys.stderr)
    subprocess.run(
        [sys.executable, "-m", "pip", "install", f"torch=={TORCH_VERSION}", f"transformers=={TRANSFORMERS_VERSION}"],
        check=True,
    )


def build_model(size: str, seed: int):
    import torch
    from transformers import GPT2Config, GPT2LMHeadModel

    torch.manual_seed(seed)
    config = GPT2Config(
        vocab_size=50257,
        # Wider than GPT-2's 0.02, so the blocks outweigh the token embedding in the residual
        # stream. At 0.02 the random model's greedy continuation repeats one token.
        initializer_range=0.1,
        resid_pdrop=0.0,
        embd_pdrop=0.0,
        attn_pdrop=0.0,
        **SIZES[size],
    )
    model = GPT2LMHeadModel(config)
    model.eval()

    # transformers starts every bias at 0 and every LayerNorm weight at 1, so a loader that
    # skipped or swapped those tensors would still match. Random values in every tensor make
    # each one change the logits.
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, param in model.named_parameters():
            noise = torch.randn(param.shape, generator=generator)
            if name.endswith("ln_1.weight") or name.endswith("ln_2.weight") or name.endswith("ln_f.weight"):
                param.copy_(1.0 + 0.1 * noise)
            elif name.endswith(".bias"):
                param.copy_(0.02 * noise)
    return model


def greedy(model, prompt_ids):
    """Returns the greedy continuation and the smallest lead of the best logit at any step."""
    import torch

    tokens = list(prompt_ids)
    margins = []
    with torch.no_grad():
        for _ in range(NEW_TOKENS):
            logits = model(torch.tensor([tokens])).logits[0, -1]
            top = torch.topk(logits, 2)
            margins.append(float(top.values[0] - top.values[1]))
            tokens.append(int(top.indices[0]))
    return tokens[len(prompt_ids):], min(margins)


def reference(model, seed: int, margin: float, new_tokens):
    import torch
    import transformers

    with torch.no_grad():
        logits = model(torch.tensor([PROMPT_IDS])).logits[0]
    vocab_size = logits.shape[-1]
    sampled_ids = list(range(0, vocab_size, SAMPLED_TOKEN_STRIDE))
    if sampled_ids[-1] != vocab_size - 1:
        sampled_ids.append(vocab_size - 1)

    positions = []
    for row in logits:
        top = torch.topk(row, TOP_K)
        positions.append(
            {
                "sampled_logits": [float(row[index]) for index in sampled_ids],
                "top_ids": [int(index) for index in top.indices],
                "top_logits": [float(value) for value in top.values],
            }
        )

    return {
        "description": "reference outputs of transformers' GPT2LMHeadModel for model.safetensors, written by scripts/make_gpt2_fixture.py",
        "seed": seed,
        "prompt": PROMPT,
        "input_ids": PROMPT_IDS,
        "sampled_token_ids": sampled_ids,
        "positions": positions,
        "greedy_new_tokens": new_tokens,
        "greedy_min_margin": margin,
        "versions": {
            "python": platform.python_version(),
            "torch": torch.__version__,
            "transformers": transformers.__version__,
        },
    }


def write_weights(model, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out, safe_serialization=True)
    # Only config.json and model.safetensors describe the model. runner does not use the
    # generation defaults that save_pretrained adds.
    generation_config = out / "generation_config.json"
    if generation_config.exists():
        generation_config.unlink()


def check_export(folder: Path, reference_path: Path) -> None:
    import torch
    from transformers import GPT2LMHeadModel

    model, info = GPT2LMHeadModel.from_pretrained(folder, output_loading_info=True)
    problems = {key: value for key, value in info.items() if value and key != "error_msgs"}
    if problems or info.get("error_msgs"):
        sys.exit(f"transformers loaded {folder} with problems: {info}")
    model = model.float().eval()

    with open(reference_path) as file:
        reference_data = json.load(file)
    with torch.no_grad():
        logits = model(torch.tensor([reference_data["input_ids"]])).logits[0]
    sampled_ids = reference_data["sampled_token_ids"]
    worst = 0.0
    for row, expected in zip(logits, reference_data["positions"]):
        pairs = list(zip(sampled_ids, expected["sampled_logits"])) + list(zip(expected["top_ids"], expected["top_logits"]))
        worst = max([worst] + [abs(float(row[index]) - value) for index, value in pairs])
    if worst > LOGIT_TOLERANCE:
        sys.exit(f"{folder}: logits differ from {reference_path} by up to {worst:.2e}")
    print(f"{folder} loads in transformers {__import__('transformers').__version__}; logits match {reference_path} within {worst:.2e}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", choices=sorted(SIZES), default="tiny", help="model size (default: tiny)")
    parser.add_argument("--out", type=Path, help=f"output folder (default for tiny: {DEFAULT_OUT})")
    parser.add_argument("--seed", type=int, default=123, help="first seed to try (default: 123)")
    parser.add_argument("--no-install", action="store_true", help="fail instead of installing missing packages")
    parser.add_argument("--check-export", type=Path, metavar="DIR", help="check a folder that `runner export` wrote, and write nothing")
    parser.add_argument("--reference", type=Path, default=DEFAULT_OUT / "reference.json", help="logits to compare --check-export with")
    args = parser.parse_args()

    ensure_packages(not args.no_install)
    import torch

    torch.set_num_threads(2)
    if args.check_export:
        check_export(args.check_export, args.reference)
        return
    if args.size == "small":
        if args.out is None:
            sys.exit("--size small needs --out: the 500 MB file does not belong in the repository")
        model = build_model("small", args.seed)
        write_weights(model, args.out)
        print(f"wrote {args.out}/config.json and model.safetensors")
        return

    out = args.out or DEFAULT_OUT
    for seed in range(args.seed, args.seed + MAX_SEED_TRIES):
        # Round the weights to F16 first, so the reference is computed from the stored values.
        model = build_model("tiny", seed).half().float()
        new_tokens, margin = greedy(model, PROMPT_IDS)
        distinct = len(set(new_tokens))
        if margin >= MIN_GREEDY_MARGIN and distinct >= MIN_DISTINCT_NEW_TOKENS:
            break
        print(f"seed {seed}: greedy margin {margin:.2e}, {distinct} distinct tokens; trying the next seed", file=sys.stderr)
    else:
        sys.exit(f"no seed in {args.seed}..{args.seed + MAX_SEED_TRIES - 1} gives a clear, varied greedy continuation")

    write_weights(model.half(), out)
    with open(out / "reference.json", "w") as file:
        json.dump(reference(model.float(), seed, margin, new_tokens), file, indent=1)
        file.write("\n")
    print(f"wrote {out} (seed {seed}, greedy margin {margin:.4f}, continuation {new_tokens})")


if __name__ == "__main__":
    main()
