"""The digits accuracy of fastnn's MLPClassifier next to scikit-learn's, and
what explains the difference (issue 17).

Same hyperparameters ((100,) relu, adam, max_iter=100, the other defaults),
``fastnn.datasets.digits(random_state=0)`` (1167 training, 360 test images),
seeds 0..S-1. Rows:

* ``fastnn`` / ``sklearn``: each library as is;
* ``fastnn, sklearn's init``: fastnn started from exactly scikit-learn's initial
  weights (drawn by its RandomState as scikit-learn does);
* ``sklearn, paper Adam``: scikit-learn with epsilon on the bias-corrected root
  (fastnn's and the paper's form) instead of its "epsilon-hat" form.

Each row gives the mean test accuracy, its standard deviation over seeds and
the standard error of the mean; the last line is Welch's t statistic of
fastnn vs scikit-learn. Run from the repository root:
``python benchmarks/digits_accuracy.py [--seeds 20]`` (pytest does not collect it).
"""
import argparse
import warnings

import numpy as np
from scipy import stats
from sklearn import neural_network
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import _multilayer_perceptron, _stochastic_optimizers
from threadpoolctl import threadpool_limits

from fastnn.datasets import digits
from fastnn.estimators import MLPClassifier

PARAMS = dict(hidden_layer_sizes=(100,), solver="adam", max_iter=100)


class PaperAdam(_stochastic_optimizers.AdamOptimizer):
    """scikit-learn's Adam with epsilon added to sqrt(v_hat), not to sqrt(v)."""

    def _get_updates(self, grads):
        self.t += 1
        self.ms = [self.beta_1 * m + (1 - self.beta_1) * g for m, g in zip(self.ms, grads)]
        self.vs = [self.beta_2 * v + (1 - self.beta_2) * g * g for v, g in zip(self.vs, grads)]
        c1, c2 = 1 - self.beta_1 ** self.t, 1 - self.beta_2 ** self.t
        return [-self.learning_rate_init * (m / c1) / (np.sqrt(v / c2) + self.epsilon)
                for m, v in zip(self.ms, self.vs)]


def sklearn_init(X, y, seed):
    """scikit-learn's initial (coefs_, intercepts_) for this seed."""
    rng = np.random.RandomState(seed)
    sizes = [X.shape[1], *PARAMS["hidden_layer_sizes"], len(np.unique(y))]
    coefs, intercepts = [], []
    for n_in, n_out in zip(sizes[:-1], sizes[1:]):
        r = np.sqrt(6.0 / (n_in + n_out))
        coefs.append(rng.uniform(-r, r, (n_in, n_out)))
        intercepts.append(rng.uniform(-r, r, n_out))
    return coefs, intercepts


def fastnn_from(X, y, seed, init):
    clf = MLPClassifier(random_state=seed, **PARAMS)
    if init is None:
        return clf.fit(X, y)
    clf.set_params(max_iter=1).fit(X, y)        # builds the network and its optimizer
    clf.coefs_, clf.intercepts_ = init
    clf._optimizer = None                       # a fresh Adam state and step count
    clf._start_curves()
    clf.n_iter_ = clf.t_ = 0
    return clf.set_params(max_iter=PARAMS["max_iter"], warm_start=True).fit(X, y)


def run(seeds):
    data = digits(random_state=0, dtype="float64")
    X, y, Xt, yt = data.X_train, data.y_train, data.X_test, data.y_test
    rows = {"fastnn": [], "fastnn, sklearn's init": [], "sklearn": [], "sklearn, paper Adam": []}
    for seed in range(seeds):
        rows["fastnn"].append(fastnn_from(X, y, seed, None).score(Xt, yt))
        rows["fastnn, sklearn's init"].append(
            fastnn_from(X, y, seed, sklearn_init(X, y, seed)).score(Xt, yt))
        rows["sklearn"].append(
            neural_network.MLPClassifier(random_state=seed, **PARAMS).fit(X, y).score(Xt, yt))
        original = _multilayer_perceptron.AdamOptimizer
        _multilayer_perceptron.AdamOptimizer = PaperAdam
        try:
            rows["sklearn, paper Adam"].append(
                neural_network.MLPClassifier(random_state=seed, **PARAMS).fit(X, y).score(Xt, yt))
        finally:
            _multilayer_perceptron.AdamOptimizer = original
    print(f"digits, {len(X)} training / {len(Xt)} test images, {seeds} seeds, {PARAMS}")
    print(f"{'':26s} {'mean':>7s} {'sd':>7s} {'s.e.':>7s}")
    for name, values in rows.items():
        v = np.array(values)
        print(f"{name:26s} {v.mean():7.4f} {v.std(ddof=1):7.4f} {v.std(ddof=1) / np.sqrt(len(v)):7.4f}")
    t, p = stats.ttest_ind(rows["fastnn"], rows["sklearn"], equal_var=False)
    print(f"Welch t (fastnn - sklearn) = {t:.2f}, p = {p:.2f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=20)
    with warnings.catch_warnings(), threadpool_limits(1):
        warnings.simplefilter("ignore", ConvergenceWarning)
        run(parser.parse_args().seeds)
