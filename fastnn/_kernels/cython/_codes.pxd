# The integer codes of fastnn/_kernels/codes.py as C constants, so that the
# kernels branch on them at C speed (cpdef: _codes.pyx also exposes them to
# Python, and __init__.py checks at import that each equals its twin in codes.py).

cpdef enum:
    ACT_LINEAR = 0
    ACT_SIGMOID = 1
    ACT_TANH = 2
    ACT_RELU = 3
    ACT_LEAKY_RELU = 4
    ACT_STEP = 5

cpdef enum:
    LOSS_SQUARED = 0
    LOSS_BCE = 1
    LOSS_SOFTMAX_CE = 2

cpdef enum:
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

cpdef enum:
    HP_LR = 0
    HP_BETA1 = 1
    HP_BETA2 = 2
    HP_EPS = 3
    HP_WEIGHT_DECAY = 4
    HP_TORCH = 5
    HP_MU_PRODUCT = 6
    HP_MOMENTUM_DECAY = 7
