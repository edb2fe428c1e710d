#!/usr/bin/python3
"""Reference side of deltaflow's cross-check (docs/crosscheck.md); started by scripts/crosscheck/sgdStep.ts.

  /usr/bin/python3 scripts/crosscheck/torch_step.py CASES_DIR RESULTS_JSON

PyTorch is a measuring stick only: nothing in deltaflow, its tests or CI imports it.

Each CASES_DIR/case*.json holds a deltaflow model file (`model`), the loss, batch size m, lr, and per
SGD step what deltaflow saw and produced: inputs x, targets y (labels for one-hot CE), every layer's
output, every layer's input delta (sums over the batch), δ^L of the loss head, the applied gradients
(already divided by m) and the weights after the step.

The same architecture is built as a torch.nn.Sequential (nn.Linear / nn.Conv2d / nn.MaxPool2d /
nn.AvgPool2d / nn.Flatten / nn.ReLU / nn.Sigmoid / nn.Tanh), once in float32 and once in float64,
with the weights of the file (float32 values, exact in both). A step is: forward layer by layer
keeping every intermediate's .grad, the mean-reduced loss, backward, torch.optim.SGD(lr).step().

Losses, scaled to deltaflow's definitions (src/ops/loss.ts; cost averaged over the batch):
  softmax CE: F.cross_entropy(z, labels or probability rows), reduction 'mean' = (1/m) Σ_x −Σ_k y log p.
  MSE:        deltaflow's cost is (1/m) Σ_x ½‖a − y‖², which is 0.5·F.mse_loss(a, y, reduction='sum')/m.
              (nn.MSELoss() with its default 'mean' divides by m·n and has no ½: it is (2/n)× deltaflow's.)

Modes: "forced" — the references start each step from deltaflow's weights before that step, so every
step is a one-step check of forward, loss, deltas, gradients and update; "free" — the references train
on their own weights, showing how far the float32 trajectories drift from float64.

Metrics per tensor (a = tested, b = float64 reference):
  norm = ‖a − b‖∞ / ‖b‖∞                      (the pass/fail metric)
  elem = max_i |a_i − b_i| / max(|b_i|, 1e-3‖b‖∞)  (informational)
for a = deltaflow ("df") and a = torch float32 ("t32", the float32 noise floor).
"""
import glob
import json
import os
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

torch.set_num_threads(1)


def build(doc, dtype):
    """The deltaflow model file as an nn.Sequential of `dtype`, and the kind of each module."""
    mods, kinds = [], []
    shape = list(doc['input'])
    for layer in doc['layers']:
        k = layer['kind']
        if k == 'dense':
            mod = nn.Linear(shape[0], layer['units'], bias=True)
            shape = [layer['units']]
        elif k == 'conv2d':
            (kh, kw), (sh, sw), (ph, pw) = layer['kernel'], layer['stride'], layer['padding']
            mod = nn.Conv2d(shape[0], layer['filters'], (kh, kw), stride=(sh, sw), padding=(ph, pw),
                            dilation=1, groups=1, bias=True, padding_mode='zeros')
            shape = [layer['filters'], (shape[1] + 2 * ph - kh) // sh + 1, (shape[2] + 2 * pw - kw) // sw + 1]
        elif k in ('maxPool2d', 'avgPool2d'):
            (kh, kw), (sh, sw) = layer['size'], layer['stride']
            if k == 'maxPool2d':
                mod = nn.MaxPool2d((kh, kw), stride=(sh, sw), padding=0, ceil_mode=False)
            else:
                mod = nn.AvgPool2d((kh, kw), stride=(sh, sw), padding=0, ceil_mode=False)
            shape = [shape[0], (shape[1] - kh) // sh + 1, (shape[2] - kw) // sw + 1]
        elif k == 'flatten':
            mod = nn.Flatten()
            shape = [int(np.prod(shape))]
        elif k == 'relu':
            mod = nn.ReLU()
        elif k == 'sigmoid':
            mod = nn.Sigmoid()
        elif k == 'tanh':
            mod = nn.Tanh()
        else:
            raise ValueError('unknown layer kind ' + k)
        mods.append(mod)
        kinds.append(k)
    model = nn.Sequential(*mods).to(dtype)
    set_weights(model, [[layer['params'][n]['data'] for n in ('W', 'b')] if 'params' in layer else []
                        for layer in doc['layers']])
    return model, kinds


def set_weights(model, per_layer):
    """per_layer[i] = [W data, b data] (flat lists) for layers with parameters, [] otherwise."""
    with torch.no_grad():
        for mod, vals in zip(model, per_layer):
            if vals:
                for p, v in zip((mod.weight, mod.bias), vals):
                    p.copy_(torch.tensor(v, dtype=torch.float64).reshape(p.shape).to(p.dtype))


def step(model, x, y, labels, loss_kind, lr):
    """One SGD step; returns every layer's output and input grad, the loss, the output grad, gradients."""
    dtype = next(iter(model.parameters())).dtype
    m = x.shape[0]
    a = x.to(dtype).clone().requires_grad_(True)
    acts = [a]
    for mod in model:
        a = mod(a)
        a.retain_grad()
        acts.append(a)
    yt = y.to(dtype).reshape(a.shape)
    if loss_kind == 'softmaxCrossEntropy':
        loss = F.cross_entropy(a, torch.tensor(labels)) if labels is not None else F.cross_entropy(a, yt)
    else:
        loss = 0.5 * F.mse_loss(a, yt, reduction='sum') / m
    opt = torch.optim.SGD(model.parameters(), lr=lr)
    opt.zero_grad()
    loss.backward()
    grads = [[p.grad.detach().clone() for p in (mod.weight, mod.bias)] if hasattr(mod, 'weight') else [] for mod in model]
    pre = [t.detach().clone() for t in acts]
    opt.step()
    after = [[p.detach().clone() for p in (mod.weight, mod.bias)] if hasattr(mod, 'weight') else [] for mod in model]
    return {
        'loss': loss.item(),
        'acts': pre,  # acts[0] = x, acts[i+1] = output of layer i
        'grad_in': [t.grad.detach().clone() for t in acts[:-1]],  # grad of layer i's input
        'grad_out': acts[-1].grad.detach().clone(),
        'grads': grads,
        'after': after,
    }


def np64(t):
    return t.detach().to(torch.float64).numpy().ravel() if isinstance(t, torch.Tensor) else np.asarray(t, dtype=np.float64).ravel()


BIG = 1e300


def err(a, b):
    a, b = np64(a), np64(b)
    if a.shape != b.shape:
        raise ValueError('shape mismatch %s vs %s' % (a.shape, b.shape))
    d = np.abs(a - b)
    bmax = float(np.max(np.abs(b))) if b.size else 0.0
    if not (np.all(np.isfinite(a)) and np.all(np.isfinite(b))):
        return {'norm': BIG, 'elem': BIG}  # JSON has no Infinity/NaN
    if bmax == 0.0:
        e = float(np.max(d)) if d.size else 0.0
        return {'norm': e, 'elem': e}
    return {'norm': float(np.max(d)) / bmax, 'elem': float(np.max(d / np.maximum(np.abs(b), 1e-3 * bmax)))}


def check(q, layer, kind, name, df, t32, ref):
    return {'q': q, 'layer': layer, 'kind': kind, 'name': name, 'df': err(df, ref), 't32': err(t32, ref), 'dt': err(df, t32)}


def kink_margins(model, kinds, x):
    """How close the float64 forward comes to a kink: min |z|/‖z‖∞ into a relu (z ≠ 0), and min gap
    between a max-pool window's largest and second-largest value / ‖x‖∞ (gap ≠ 0). Small margins mean
    float32 rounding may take the other side of the kink (a legitimate discontinuity, not a math bug)."""
    relu_m, pool_m = None, None
    a = x
    with torch.no_grad():
        for mod, k in zip(model, kinds):
            if k == 'relu':
                z = a.abs().ravel()
                nz = z[z > 0]
                if nz.numel() and z.max() > 0:
                    v = float(nz.min() / z.max())
                    relu_m = v if relu_m is None else min(relu_m, v)
            elif k == 'maxPool2d' and mod.kernel_size[0] * mod.kernel_size[1] > 1:
                mm, c, h, w = a.shape
                cols = F.unfold(a.reshape(mm * c, 1, h, w), mod.kernel_size, stride=mod.stride)
                top = cols.topk(2, dim=1).values
                gap = (top[:, 0] - top[:, 1]).ravel()
                gap = gap[gap > 0]
                scale = float(a.abs().max())
                if gap.numel() and scale > 0:
                    v = float(gap.min()) / scale
                    pool_m = v if pool_m is None else min(pool_m, v)
            a = mod(a)
    return {'relu': relu_m, 'maxPool': pool_m}


def saturation(kinds, acts):
    """Per step: the fraction of sigmoid/tanh outputs (float64 forward) whose derivative σ'(z) is below 1e-3
    (sigmoid' scaled by 4 so both peak at 1); None without such layers. σ' is computed from the output a,
    which float32 rounds next to ±1 (or 0/1) in saturation, so there σ' has an O(1) relative error in any
    float32 framework: when the gradient is dominated by such units it is ill-conditioned in float32."""
    n, sat = 0, 0
    for i, k in enumerate(kinds):
        a = acts[i + 1]
        if k == 'tanh':
            d = 1 - a * a
        elif k == 'sigmoid':
            d = 4 * a * (1 - a)
        else:
            continue
        n += d.numel()
        sat += int((d < 1e-3).sum())
    return sat / n if n else None


def forced_tensors(res, kinds, loss_kind):
    """The tensors compared in forced mode, in a fixed order: (q, layer, kind, name, tensor)."""
    out = [('loss', -1, loss_kind, '', [res['loss']]), ('dOut', -1, loss_kind, '', res['grad_out'])]
    for i, k in enumerate(kinds):
        out.append(('out', i, k, '', res['acts'][i + 1]))
        if i > 0:
            out.append(('dIn', i, k, '', res['grad_in'][i]))
        for j, name in enumerate(('W', 'b') if res['grads'][i] else ()):
            out.append(('grad', i, k, name, res['grads'][i][j]))
            out.append(('param', i, k, name, res['after'][i][j]))
    return out


def deltaflow_as_result(st, m, n_layers):
    """deltaflow's record in the shape step() returns (its deltas are batch sums: divided by m here, in float64)."""
    return {
        'loss': st['loss'],
        'acts': [None] + st['outs'],
        'grad_in': [None if d is None else np64(d) / m for d in st['deltaIn']],
        'grad_out': np64(st['deltaOut']) / m,
        'grads': st['grads'],
        'after': st['paramsAfter'],
    }


def perturbed(vals, gen, u=2.0 ** -23):
    """Weights (nested lists) or a tensor times (1 + u·ε), ε uniform in [−1, 1): a 1-ulp-sized perturbation."""
    if isinstance(vals, torch.Tensor):
        return vals * (1 + u * (2 * torch.rand(vals.shape, generator=gen, dtype=torch.float64) - 1))
    return [[(torch.tensor(v, dtype=torch.float64) * (1 + u * (2 * torch.rand(len(v), generator=gen, dtype=torch.float64) - 1))).tolist()
             for v in layer] for layer in vals]


FLT_MIN = 2.0 ** -126


def local_err(a, ref, absb):
    """max_i |a_i − ref_i| / absb_i, absb_i being the sum of |terms| that make ref_i (0/0 counts as 0)."""
    a, ref, absb = np64(a), np64(ref), np64(absb)
    if not (np.all(np.isfinite(a)) and np.all(np.isfinite(ref))):
        return BIG
    d = np.abs(a - ref)
    if not d.size:
        return 0.0
    # below float32's normal range the absolute spacing is fixed (2^-149): results there are compared
    # absolutely, at the underflow level (a sigmoid of −110 is 0 in float32, its float64 value is not)
    absb = np.maximum(absb, FLT_MIN)
    with np.errstate(divide='ignore', invalid='ignore'):
        r = np.where(d == 0, 0.0, d / absb)
    return float(np.nan_to_num(r, nan=BIG, posinf=BIG).max())


def local_checks(model64, kinds, before, st, x, m, loss_kind, lr, shapes):
    """Each op of deltaflow checked on deltaflow's OWN inputs (its float32 layer inputs, output deltas and
    weights, widened to float64), against the float64 op, with the error measured relative to the sum of
    the absolute values of the terms each result is made of (sum |x||w| for a dense/conv output, sum
    |delta||w| for an input delta, sum |delta||x| for a weight gradient, ...). This removes float32
    conditioning entirely: a correct float32 kernel stays below ~k·u (k terms per result, u = 6e-8), a
    wrong index, scale or term gives O(1)."""
    set_weights(model64, before)
    n_layers = len(kinds)
    outs = [x] + [torch.tensor(o, dtype=torch.float64).reshape(shapes[i + 1]) for i, o in enumerate(st['outs'])]
    checks = []

    def add(q, i, k, name, v):
        checks.append({'q': q, 'layer': i, 'kind': k, 'name': name, 'loc': v})

    # loss head on deltaflow's final output
    a = outs[-1].reshape(m, -1)
    y = torch.tensor(st['y'], dtype=torch.float64).reshape(a.shape)
    if loss_kind == 'softmaxCrossEntropy':
        logp = torch.log_softmax(a, dim=1)
        loss_ref = float(-(y * logp).sum() / m)
        loss_abs = float((y.abs() * logp.abs()).sum() / m)
        d_ref, d_abs = logp.exp() - y, logp.exp() + y.abs()
    else:
        loss_ref = float(0.5 * ((a - y) ** 2).sum() / m)
        loss_abs = float(0.5 * ((a.abs() + y.abs()) ** 2).sum() / m)
        d_ref, d_abs = a - y, a.abs() + y.abs()
    add('loss', -1, loss_kind, '', local_err([st['loss']], [loss_ref], [loss_abs]))
    add('dOut', -1, loss_kind, '', local_err(st['deltaOut'], d_ref, d_abs))

    for i, (mod, k) in enumerate(zip(model64, kinds)):
        xin = outs[i]
        dy = torch.tensor(st['deltaIn'][i + 1] if i + 1 < n_layers else st['deltaOut'], dtype=torch.float64)
        xr = xin.clone().requires_grad_(True)
        with torch.enable_grad():
            yr = mod(xr)
            dy = dy.reshape(yr.shape)
            params = [mod.weight, mod.bias] if k in ('dense', 'conv2d') else []
            for p_ in params:
                p_.grad = None
            yr.backward(dy)
        dx_ref = xr.grad
        g_ref = [p_.grad.clone() / m for p_ in params]
        # sums of |terms|
        if k in ('dense', 'conv2d'):
            absmod = build_abs(mod)
            xa = xin.abs().clone().requires_grad_(True)
            with torch.enable_grad():
                ya = absmod(xa)
                ya.backward(dy.abs())
            y_abs, dx_abs = ya.detach(), xa.grad
            g_abs = [absmod.weight.grad / m, absmod.bias.grad / m]
        elif k in ('maxPool2d', 'avgPool2d'):
            xa = xin.clone().requires_grad_(True)
            with torch.enable_grad():
                mod(xa).backward(dy.abs())  # same windows / argmax as the reference, |δ| routed
            dx_abs = xa.grad
            with torch.no_grad():
                y_abs = mod(xin.abs()) if k == 'avgPool2d' else yr.detach().abs()
            g_abs = []
        elif k in ('sigmoid', 'tanh', 'relu'):
            a_ = yr.detach()
            # σ' is computed from the float32 output a (MATH 4.1): a's rounding (|da| ≤ u|a|) is one more
            # term, |dσ'/da|·|a|, i.e. 2a² for tanh (1 − a²), |1 − 2a|·|a| for sigmoid (a(1 − a))
            deriv, rounding = {
                'sigmoid': (a_ * (1 - a_), (1 - 2 * a_).abs() * a_.abs()),
                'tanh': (1 - a_ * a_, 2 * a_ * a_),
                'relu': ((a_ > 0).double(), torch.zeros_like(a_)),
            }[k]
            y_abs = a_.abs()
            dx_abs = dy.abs() * (deriv.abs() + rounding)
            g_abs = []
        else:  # flatten
            y_abs, dx_abs, g_abs = yr.detach().abs(), dy.abs(), []
        add('out', i, k, '', local_err(st['outs'][i], yr.detach(), y_abs))
        if i > 0:
            add('dIn', i, k, '', local_err(st['deltaIn'][i], dx_ref, dx_abs))
        for j, name in enumerate(('W', 'b')[:len(params)]):
            add('grad', i, k, name, local_err(st['grads'][i][j], g_ref[j], g_abs[j]))
            # the update p ← p − lr·g on deltaflow's own p and g
            p0 = np64(before[i][j])
            g = np64(st['grads'][i][j])
            add('param', i, k, name, local_err(st['paramsAfter'][i][j], p0 - lr * g, np.abs(p0) + np.abs(lr * g)))
    return checks


def build_abs(mod):
    """A float64 copy of a Linear/Conv2d with |W| and |b|."""
    import copy
    c = copy.deepcopy(mod)
    with torch.no_grad():
        c.weight.abs_()
        c.bias.abs_()
    for p_ in c.parameters():
        p_.grad = None
    return c


NOISE_RUNS = 8


def run_case(case):
    doc, loss_kind, m, lr = case['model'], case['loss'], case['m'], case['lr']
    r64, kinds = build(doc, torch.float64)
    r32, _ = build(doc, torch.float32)
    free64, _ = build(doc, torch.float64)
    free32, _ = build(doc, torch.float32)
    gen = torch.Generator().manual_seed(case['id'])
    in_shape = [m] + list(doc['input'])
    before = [[layer['params'][n]['data'] for n in ('W', 'b')] if 'params' in layer else [] for layer in doc['layers']]
    steps_out = []
    margins = None
    for s, st in enumerate(case['steps']):
        x = torch.tensor(st['x'], dtype=torch.float64).reshape(in_shape)
        y = torch.tensor(st['y'], dtype=torch.float64)
        labels = st['labels']
        set_weights(r64, before)
        set_weights(r32, before)
        if s == 0:
            margins = kink_margins(r64, kinds, x)
        a = step(r64, x, y, labels, loss_kind, lr)
        b = step(r32, x, y, labels, loss_kind, lr)
        ref = forced_tensors(a, kinds, loss_kind)
        t32 = forced_tensors(b, kinds, loss_kind)
        df = forced_tensors(deltaflow_as_result(st, m, len(kinds)), kinds, loss_kind)
        # float32 noise floor of each tensor: torch float32 from weights and inputs perturbed by ~1 ulp,
        # NOISE_RUNS times, against the unperturbed float64 reference (the worst run counts)
        floor = [0.0] * len(ref)
        for _ in range(NOISE_RUNS):
            set_weights(r32, perturbed(before, gen))
            pr = forced_tensors(step(r32, perturbed(x, gen), y, labels, loss_kind, lr), kinds, loss_kind)
            floor = [max(f, err(p[4], r[4])['norm']) for f, p, r in zip(floor, pr, ref)]
        forced = []
        for (q, i, k, name, rv), (_, _, _, _, bv), (_, _, _, _, dv), fl in zip(ref, t32, df, floor):
            ch = check(q, i, k, name, dv, bv, rv)
            ch['floor'] = max(fl, ch['t32']['norm'])
            forced.append(ch)
        # free-running references: their own weights from the start
        fa = step(free64, x, y, labels, loss_kind, lr)
        fb = step(free32, x, y, labels, loss_kind, lr)
        free = [check('loss', -1, loss_kind, '', [st['loss']], [fb['loss']], [fa['loss']])]
        for i, k in enumerate(kinds):
            for j, name in enumerate(('W', 'b') if fa['after'][i] else ()):
                free.append(check('param', i, k, name, st['paramsAfter'][i][j], fb['after'][i][j], fa['after'][i][j]))
        local = local_checks(r64, kinds, before, st, x, m, loss_kind, lr, [t.shape for t in a['acts']])
        steps_out.append({'forced': forced, 'free': free, 'local': local, 'sat': saturation(kinds, a['acts'])})
        before = st['paramsAfter']
    return {'id': case['id'], 'kinkMargin': margins, 'steps': steps_out}


def main():
    cases_dir, out_path = sys.argv[1], sys.argv[2]
    # the MSE scaling claimed in the docstring, checked once: MSELoss(mean) = (2/n) × ½Σ(a−y)²/m
    a, y = torch.randn(5, 3, dtype=torch.float64), torch.randn(5, 3, dtype=torch.float64)
    assert abs(nn.MSELoss()(a, y).item() * 3 / 2 - 0.5 * ((a - y) ** 2).sum().item() / 5) < 1e-12
    results = []
    for path in sorted(glob.glob(os.path.join(cases_dir, 'case*.json'))):
        with open(path) as f:
            results.append(run_case(json.load(f)))
    with open(out_path, 'w') as f:
        json.dump(results, f)
    print('torch %s: %d cases compared' % (torch.__version__, len(results)), file=sys.stderr)


if __name__ == '__main__':
    main()
