#!/usr/bin/python3
"""PyTorch + pandas from a CSV file to a trained model, for the end-to-end section of deltaflow's bench
(scripts/bench/endToEnd.ts runs it as a child process, once per pass):

  /usr/bin/python3 torch_e2e.py --data FILE.csv --workload W1|W2 --threads N [--batch 64] [--lr 0.05]

What a PyTorch user writes for the job deltaflow's CLI does with `train --epochs 1 --shuffle 0
--optimizer sgd`: pandas.read_csv of the whole file (C engine), the label column and the pixels to
tensors (pixel / 255, float32), then one epoch of mini-batch SGD in file order (the last partial
batch included) with nn.CrossEntropyLoss, on the model of torch_bench.py. torch.set_num_threads(N);
OpenBLAS is held to 1 thread with N = 2 (the fast 2-thread setting on 2 vCPUs, see torch_bench.py).

Prints one line '@@ {"readSeconds","trainSeconds","samples","loss","version","threads"}'; the times
are perf_counter around reading + converting, and around training.
"""
import argparse
import json
import os
import sys
import time

from torch_bench import make_model  # the workloads' networks, shared with the in-memory bench


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--data', required=True)
    ap.add_argument('--workload', default='W2')
    ap.add_argument('--threads', type=int, default=1)
    ap.add_argument('--batch', type=int, default=64)
    ap.add_argument('--lr', type=float, default=0.05)
    a = ap.parse_args()

    import numpy as np
    import pandas as pd
    import torch
    import torch.nn as nn

    torch.manual_seed(0)
    torch.set_num_threads(a.threads)
    blas_limit = None  # kept alive for the whole run
    try:
        import threadpoolctl
        blas_limit = threadpoolctl.threadpool_limits(1 if a.threads > 1 else a.threads, user_api='blas')
    except ImportError:
        pass

    t0 = time.perf_counter()
    frame = pd.read_csv(a.data)
    y = torch.from_numpy(frame['label'].to_numpy(dtype=np.int64))
    x = torch.from_numpy(frame.drop(columns=['label']).to_numpy(dtype=np.float32) / np.float32(255))
    if a.workload == 'W2':
        x = x.reshape(-1, 1, 28, 28)
    read_seconds = time.perf_counter() - t0

    model = make_model(nn, a.workload)
    opt = torch.optim.SGD(model.parameters(), lr=a.lr)
    loss_fn = nn.CrossEntropyLoss()
    n = len(y)
    t1 = time.perf_counter()
    for start in range(0, n, a.batch):
        xb = x[start:start + a.batch]
        yb = y[start:start + a.batch]
        opt.zero_grad()
        loss = loss_fn(model(xb), yb)
        loss.backward()
        opt.step()
    last = float(loss)
    train_seconds = time.perf_counter() - t1
    sys.stdout.write('@@ ' + json.dumps({'readSeconds': read_seconds, 'trainSeconds': train_seconds, 'samples': n, 'loss': last,
                                         'version': torch.__version__, 'threads': torch.get_num_threads(),
                                         'pandas': pd.__version__}) + '\n')
    sys.stdout.flush()
    del blas_limit


if __name__ == '__main__':
    try:
        main()
    except Exception as e:
        sys.stdout.write('@@ ' + json.dumps({'error': f'{type(e).__name__}: {e}'}) + '\n')
        sys.exit(1)
