#!/usr/bin/env python3
"""The bf16 matrix-product rate PyTorch reaches on this machine: the ceiling
`ember-bench layer` reports its TFLOP/s against (on CUDA, cuBLAS's).

usage: matmul_rate.py --device cpu|cuda [--size N] [--threads K]

Times C = A @ B for square bf16 matrices of N x N (default 8192 on CUDA,
1024 on the CPU) with f32 accumulation inside PyTorch, after two untimed
warm-up products, over at least 0.5 s, and prints ONE JSON line:
  {"tflops": .., "size": N, "device": "NVIDIA H200", "torch": "2.5.1", ...}
tflops = 2 N^3 x products / seconds / 1e12.
"""

import argparse
import json
import time

import torch


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", choices=["cpu", "cuda"], required=True)
    parser.add_argument("--size", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1, help="CPU threads (ember's CPU code runs on one)")
    args = parser.parse_args()
    if args.device == "cuda" and not torch.cuda.is_available():
        raise SystemExit("matmul_rate.py: torch sees no CUDA device")
    size = args.size or (8192 if args.device == "cuda" else 1024)
    torch.set_num_threads(args.threads)
    generator = torch.Generator(device=args.device).manual_seed(0)
    a = torch.rand(size, size, generator=generator, device=args.device).to(torch.bfloat16)
    b = torch.rand(size, size, generator=generator, device=args.device).to(torch.bfloat16)

    def sync():
        if args.device == "cuda":
            torch.cuda.synchronize()

    for _ in range(2):
        a @ b
    sync()
    products, start = 0, time.perf_counter()
    while True:
        a @ b
        products += 1
        if products % 4 == 0:
            sync()
            elapsed = time.perf_counter() - start
            if elapsed >= 0.5:
                break
    name = torch.cuda.get_device_name() if args.device == "cuda" else "cpu"
    print(json.dumps({"tflops": 2.0 * size**3 * products / elapsed / 1e12, "size": size, "products": products,
                      "seconds": elapsed, "device": name, "threads": args.threads if args.device == "cpu" else None,
                      "torch": torch.__version__}))


if __name__ == "__main__":
    main()
