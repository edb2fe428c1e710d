#!/usr/bin/python3
"""PyTorch CPU training passes for deltaflow's bench, served over stdin/stdout so the parent can
alternate PyTorch passes with other systems back to back (protocol: scripts/bench/childRunner.ts).

  /usr/bin/python3 torch_bench.py --workload W1|W2 --data DIR --threads N [--blas-threads same|untouched|N]

Adapted from the peers' torch-bench.py (/work/shared/bench/peers/torch-bench.py): nn.Sequential +
nn.CrossEntropyLoss + optim.SGD(lr=0.05), batches of 64 sliced from in-memory tensors (no
DataLoader); train step = zero_grad, forward, loss, backward, step. torch.set_num_threads(N) sets
the ATen/OpenMP pool; OpenBLAS (used by nn.Linear, its own pthread pool) is limited with
threadpoolctl to --blas-threads (default: the same N). The fast 2-thread configuration on a 2-vCPU
machine is --threads 2 --blas-threads 1 (2 + 2 threads oversubscribe the cores).

Commands (one JSON object per stdin line): {"cmd":"run","batches":k} trains the next k batches
(cycling through the data) and answers '@@ {"pass":{"samples","seconds","loss"}}'; {"cmd":"quit"}.
After start-up it answers '@@ {"ready":{"version","threads","note"}}'; failures '@@ {"error":"..."}'.
"""
import argparse
import json
import os
import resource
import sys
import time


def reply(msg):
    sys.stdout.write('@@ ' + json.dumps(msg) + '\n')
    sys.stdout.flush()


def make_model(nn, workload):
    if workload == 'W1':
        return nn.Sequential(nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 64), nn.ReLU(), nn.Linear(64, 10))
    if workload == 'W2':
        return nn.Sequential(
            nn.Conv2d(1, 6, 5), nn.ReLU(), nn.MaxPool2d(2, 2),
            nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2, 2),
            nn.Flatten(),
            nn.Linear(256, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10))
    raise ValueError('--workload must be W1 or W2, got ' + workload)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--workload', default='W1')
    ap.add_argument('--data', required=True)
    ap.add_argument('--threads', type=int, default=1)
    ap.add_argument('--blas-threads', default='same')
    ap.add_argument('--batch', type=int, default=64)
    ap.add_argument('--lr', type=float, default=0.05)
    a = ap.parse_args()

    import numpy as np
    import torch
    import torch.nn as nn

    torch.manual_seed(0)
    torch.set_num_threads(a.threads)
    blas_limit = None  # kept alive for the whole run: the limit lasts as long as the object
    try:
        import threadpoolctl
        if a.blas_threads != 'untouched':
            nb = a.threads if a.blas_threads == 'same' else int(a.blas_threads)
            blas_limit = threadpoolctl.threadpool_limits(nb, user_api='blas')
        blas = ','.join(f"{i.get('internal_api')}:{i.get('architecture')}:{i.get('num_threads')}"
                        for i in threadpoolctl.threadpool_info() if i.get('user_api') == 'blas')
    except ImportError:
        blas = 'threadpoolctl-missing'

    x = np.fromfile(os.path.join(a.data, 'images-f32.bin'), dtype='<f4').reshape(-1, 784)
    y = np.fromfile(os.path.join(a.data, 'labels-u8.bin'), dtype=np.uint8).astype(np.int64)
    n_batches = len(y) // a.batch
    n = n_batches * a.batch
    X = torch.from_numpy(x[:n].copy())
    if a.workload == 'W2':
        X = X.reshape(n, 1, 28, 28)
    Y = torch.from_numpy(y[:n].copy())
    model = make_model(nn, a.workload)
    opt = torch.optim.SGD(model.parameters(), lr=a.lr)
    loss_fn = nn.CrossEntropyLoss()
    env = 'OPENBLAS_CORETYPE=' + os.environ.get('OPENBLAS_CORETYPE', 'unset')
    reply({'ready': {'version': torch.__version__, 'threads': torch.get_num_threads(),
                     'note': f'blas={blas} {env}'}})

    cursor = 0
    for line in sys.stdin:
        cmd = json.loads(line)
        if cmd.get('cmd') == 'quit':
            break
        try:
            k = int(cmd.get('batches', 1))
            r0 = resource.getrusage(resource.RUSAGE_SELF)
            t0 = time.perf_counter()
            for _ in range(k):
                xb = X[cursor * a.batch:(cursor + 1) * a.batch]
                yb = Y[cursor * a.batch:(cursor + 1) * a.batch]
                opt.zero_grad()
                loss = loss_fn(model(xb), yb)
                loss.backward()
                opt.step()
                cursor = (cursor + 1) % n_batches
            last = float(loss)
            seconds = time.perf_counter() - t0
            r1 = resource.getrusage(resource.RUSAGE_SELF)
            cpu = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
            reply({'pass': {'samples': k * a.batch, 'seconds': seconds, 'loss': last, 'cpuSeconds': cpu}})
        except Exception as e:  # report, keep serving: the parent decides
            reply({'error': f'{type(e).__name__}: {e}'})
    del blas_limit


if __name__ == '__main__':
    try:
        main()
    except Exception as e:
        reply({'error': f'{type(e).__name__}: {e}'})
        sys.exit(1)
