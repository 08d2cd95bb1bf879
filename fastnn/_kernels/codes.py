"""Integer codes shared by every backend: kernels take codes, never strings.

The Python layer maps user-facing names to these codes (``fastnn.activations``,
``fastnn.losses``, ``fastnn.optim``); the compiled kernels branch on them
outside their inner loops.
"""

# Activation functions g of the notes' h = g(a).
ACT_LINEAR = 0
ACT_SIGMOID = 1
ACT_TANH = 2
ACT_RELU = 3
ACT_LEAKY_RELU = 4
ACT_STEP = 5

# Losses, each paired with its output function O: the kernel takes the output
# layer's pre-activation a_L (logits) and returns dL/da_L.
LOSS_SQUARED = 0        # linear output, (1/N) sum_i sum_j (y_hat_ij - y_ij)^2
LOSS_BCE = 1            # sigmoid output, binary cross-entropy from logits
LOSS_SOFTMAX_CE = 2     # softmax output, cross-entropy from logits
LOSS_POISSON = 3        # exp output (Poisson mean e^a), Poisson deviance from logits

# Optimizers of the notes (sections 5 and 6).
OPT_SGD = 0
OPT_MOMENTUM = 1
OPT_NAG = 2
OPT_ADAGRAD = 3
OPT_RMSPROP = 4
OPT_ADADELTA = 5
OPT_ADAM = 6
OPT_ADAMAX = 7
OPT_MAXPROP = 8
OPT_NADAM = 9

# Layout of the float64 hyperparameter vector ``hp`` that optimizer kernels read
# (and, for NAdam in PyTorch mode, write: its running product of mu_t).
HP_LR = 0            # eta
HP_BETA1 = 1         # beta (Momentum, NAG, RMSprop, AdaDelta, MaxProp) or beta1
HP_BETA2 = 2         # beta2 (Adam, AdaMax, NAdam)
HP_EPS = 3           # epsilon
HP_WEIGHT_DECAY = 4  # L2 coefficient lambda: g <- g + lambda * w
HP_TORCH = 5         # 1.0 = PyTorch's variant of the rule, 0.0 = the notes'
HP_MU_PRODUCT = 6    # NAdam (PyTorch): prod_{i<=t} mu_i, carried across steps
HP_MOMENTUM_DECAY = 7  # NAdam (PyTorch): psi in mu_t = beta1 (1 - 0.5 * 0.96^(t psi))
HP_SIZE = 8
