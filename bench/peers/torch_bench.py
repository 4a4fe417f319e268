"""PyTorch's side of `npm run bench:peers` (bench/peers/peers.mjs runs it; not meant to be run alone).

    /usr/bin/python3 torch_bench.py MANIFEST.json

MANIFEST.json (written by peers.mjs) names a raw little-endian float32 file and, for each
tensor, its shape and offset (in floats) there: the conv cases' x, w, b and convnet's forward
output, the three-layer net's input, parameters (CS231n's names and layouts: W1 (F, C, 7, 7),
W2 (8192, 100) as x·W) and convnet's test-mode scores. The same workloads as peers.mjs's rows
run on each thread count of the manifest (torch.set_num_threads): conv forward and
forward+backward, max pool 2×2 forward+backward, the three-layer net's forward only (inference
mode) and its training step (forward, cross-entropy, backward, SGD update, lr 1e-3), all at
batch 50, float32. Each forward is checked against convnet's output first
(max |torch − convnet| / max |convnet|) and timed only when that is below the manifest's
tolerance (else its time is null); times are the median of `reps` runs after one warm-up.
Its pool and threeLayer entries are null when peers.mjs runs only some rows (PEERS_ROWS).
Prints one JSON object on stdout.
"""

import json
import statistics
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F


def median_ms(run, reps, warmup=1):
    for _ in range(warmup):
        run()
    times = []
    for _ in range(reps):
        start = time.perf_counter()
        run()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def rel_diff(ours, reference):
    # ours, reference: same shape; the difference relative to the reference's scale.
    reference = reference.reshape(ours.shape)
    scale = reference.abs().max().item()
    return (ours - reference).abs().max().item() / (scale if scale > 0 else 1.0)


def main():
    with open(sys.argv[1]) as f:
        manifest = json.load(f)
    data = np.fromfile(manifest["data"], dtype="<f4")

    def tensor(entry):
        offset, shape = entry["offset"], entry["shape"]
        count = int(np.prod(shape))
        return torch.from_numpy(data[offset:offset + count].copy()).reshape(shape)

    reps = manifest["reps"]
    tolerance = manifest["tolerance"]
    torch.manual_seed(0)
    out = {
        "torch": torch.__version__,
        "mkldnn": torch.backends.mkldnn.is_available(),
        "results": {},
    }

    convs = []
    for case in manifest["conv"]:
        t = case["tensors"]
        convs.append((case, tensor(t["x"]), tensor(t["w"]), tensor(t["b"]), tensor(t["out"])))
    three = manifest["threeLayer"]
    if three:
        X = tensor(three["tensors"]["x"])
        params = {name: tensor(three["tensors"][name]) for name in ("W1", "b1", "W2", "b2", "W3", "b3")}
        scores = tensor(three["tensors"]["scores"])
        N = X.shape[0]
        labels = torch.arange(N) % 10

    def three_layer():
        # CS231n's W2 (8192, 100) is x·W; torch's Linear weight is (out, in).
        net = torch.nn.Sequential(
            torch.nn.Conv2d(3, 32, 7, padding=3),
            torch.nn.ReLU(),
            torch.nn.MaxPool2d(2),
            torch.nn.Flatten(),
            torch.nn.Linear(8192, 100),
            torch.nn.ReLU(),
            torch.nn.Linear(100, 10),
        )
        with torch.no_grad():
            net[0].weight.copy_(params["W1"])
            net[0].bias.copy_(params["b1"])
            net[4].weight.copy_(params["W2"].t())
            net[4].bias.copy_(params["b2"])
            net[6].weight.copy_(params["W3"].t())
            net[6].bias.copy_(params["b3"])
        return net

    for threads in manifest["threads"]:
        torch.set_num_threads(threads)
        result = {"threads": torch.get_num_threads(), "conv": []}

        for case, x, w, b, reference in convs:
            stride, pad = case["stride"], case["pad"]
            with torch.inference_mode():
                diff = rel_diff(F.conv2d(x, w, b, stride, pad), reference)
                fwd = median_ms(lambda: F.conv2d(x, w, b, stride, pad), reps) if diff < tolerance else None
            xg = x.clone().requires_grad_(True)
            wg = w.clone().requires_grad_(True)
            bg = b.clone().requires_grad_(True)
            dout = torch.randn(reference.shape)

            def fwd_bwd():
                # dx, dw, db as convnet's convBackward computes them.
                xg.grad = wg.grad = bg.grad = None
                F.conv2d(xg, wg, bg, stride, pad).backward(dout)

            result["conv"].append({"label": case["label"], "maxRelDiff": diff, "fwd": fwd, "fwdBwd": median_ms(fwd_bwd, reps)})

        if manifest["pool"]:
            px = torch.randn(manifest["pool"]["x"]).requires_grad_(True)
            pdy = torch.randn(px.shape[0], px.shape[1], px.shape[2] // 2, px.shape[3] // 2)

            def pool_fwd_bwd():
                px.grad = None
                F.max_pool2d(px, 2, 2).backward(pdy)

            result["pool"] = {"fwdBwd": median_ms(pool_fwd_bwd, 3 * reps)}

        if three and three["forward"]:
            net = three_layer()
            with torch.inference_mode():
                diff = rel_diff(net(X), scores)
                ms = median_ms(lambda: net(X), reps) if diff < tolerance else None
            result["threeLayerForward"] = {"batch": N, "maxRelDiff": diff, "ms": ms}

        if three and three["train"]:
            # A fresh copy of the weights on each thread count; the updates change them.
            net = three_layer()
            optimizer = torch.optim.SGD(net.parameters(), lr=1e-3)

            def step():
                optimizer.zero_grad(set_to_none=True)
                F.cross_entropy(net(X), labels).backward()
                optimizer.step()

            result["train"] = {"batch": N, "ms": median_ms(step, reps)}
        out["results"][str(threads)] = result

    json.dump(out, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
