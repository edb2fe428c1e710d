"""The online section's measuring stick: scikit-learn's partial_fit, one row at a time, prequential.

Reads the same CSV deltaflow reads (features, then `label`), loaded with numpy before timing, then for
each row: predict, score, partial_fit on that row — test-then-train at batch size 1, as
`deltaflow online` does. Prints one JSON line per learner: rows/s and prequential accuracy.
Never a dependency of deltaflow, its tests or CI: the bench runs it only when /usr/bin/python3 has sklearn.

    /usr/bin/python3 sklearn_online.py FILE [sgd|mlp ...]
"""
import json
import sys
import time
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import SGDClassifier
from sklearn.neural_network import MLPClassifier


def run(name, X, y, classes):
    if name == "sgd":
        model = SGDClassifier(loss="log_loss")
    else:
        model = MLPClassifier(hidden_layer_sizes=(32,), learning_rate_init=0.01)
    correct = 0
    start = time.perf_counter()
    model.partial_fit(X[:1], y[:1], classes=classes)
    for i in range(1, len(y)):
        row = X[i : i + 1]
        if model.predict(row)[0] == y[i]:
            correct += 1
        model.partial_fit(row, y[i : i + 1])
    seconds = time.perf_counter() - start
    return {"learner": name, "rows": int(len(y)), "seconds": seconds, "rowsPerSecond": len(y) / seconds, "accuracy": correct / (len(y) - 1)}


def main():
    path = sys.argv[1]
    names = sys.argv[2:] or ["sgd", "mlp"]
    data = np.loadtxt(path, delimiter=",", skiprows=1)
    X, y = data[:, :-1].astype(np.float32), data[:, -1].astype(np.int64)
    classes = np.unique(y)
    warnings.simplefilter("ignore", ConvergenceWarning)
    for name in names:
        print(json.dumps(run(name, X, y, classes)), flush=True)


if __name__ == "__main__":
    main()
